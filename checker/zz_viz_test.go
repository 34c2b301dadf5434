package checker
import "testing"
func TestZZWriteViz(t *testing.T) {
	h := realisticHistory(3, 40, 3, 1)
	for i := 25; i < len(h); i++ { if h[i].Kind == OpGet { h[i].Output = "bogus"; break } }
	h = append(h, pending(appendOp(1, "k0", "zz", h[5].Call, 0)))
	r := CheckLinearizable(h, testTimeout)
	t.Log(r.Verdict, r.Key, r.Describe())
	if err := WriteVisualization(r, []Annotation{{Start: h[2].Call, End: h[12].Return, Label: "partition {0,1} | {2,3,4}"}, {Start: h[6].Call, End: h[9].Return, Label: "crash node 2"}}, "/tmp/viz_illegal.html"); err != nil { t.Fatal(err) }
}
