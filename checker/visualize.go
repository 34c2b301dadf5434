package checker

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// Annotation is a window of virtual time to draw beside the client operations in a
// visualization: a fault (partition, crash, pause...) or any other event of the run.
type Annotation struct {
	Start, End int64 // virtual ns; End < Start is drawn as a point at Start
	Label      string
}

// visualizeUnknownBound bounds the check that draws a key whose check never started because
// the time bound was already spent: the drawing needs only the partial orders found so far.
const visualizeUnknownBound = time.Second

// annotationColor marks fault windows apart from client operations.
const annotationColor = "#f4cccc"

// WriteVisualization writes Porcupine's HTML view of r to path: for Illegal the operations of
// the illegal key with the longest partial linearizations Porcupine found, for Unknown those
// of the key that hit the time bound, for Ok the whole history with its linearization (checked
// again, under the same time bound, since an Ok check keeps no per-operation detail).
// annotations are drawn as extra rows, one row per set of non-overlapping windows.
//
// The file is written to path+".tmp", synced, then renamed onto path, so a reader never sees
// a partial file and none is left behind on error.
func WriteVisualization(r LinResult, annotations []Annotation, path string) error {
	model := singleKeyModel()
	info := r.info
	if !r.hasInfo {
		model = KVModel()
		bound := max(r.timeout, 0)
		if r.Verdict != Ok {
			bound = visualizeUnknownBound
		}
		_, info = porcupine.CheckOperationsVerbose(model, r.viewOperations, bound)
	}
	info.AddAnnotations(toPorcupineAnnotations(annotations))

	tmpPath := path + ".tmp"
	file, err := os.OpenFile(tmpPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("checker: writing visualization: %w", err)
	}
	writer := bufio.NewWriter(file)
	err = porcupine.Visualize(model, info, writer)
	if err == nil {
		err = writer.Flush()
	}
	if err == nil {
		err = file.Sync()
	}
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmpPath, path)
	}
	if err != nil {
		removeErr := os.Remove(tmpPath)
		if removeErr != nil && !errors.Is(removeErr, os.ErrNotExist) {
			err = errors.Join(err, removeErr)
		}
		return fmt.Errorf("checker: writing visualization to %s: %w", path, err)
	}
	return nil
}

// toPorcupineAnnotations places annotations on rows ("faults", "faults 002", ...): each goes on
// the first row whose windows all end before it starts, in order of start time, so windows
// never overlap on a row and the layout is the same for the same input.
func toPorcupineAnnotations(annotations []Annotation) []porcupine.Annotation {
	order := make([]int, len(annotations))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := annotations[order[a]], annotations[order[b]]
		if x.Start != y.Start {
			return x.Start < y.Start
		}
		return x.Label < y.Label
	})
	var rowEnds []int64 // per row, the end of its last window
	out := make([]porcupine.Annotation, 0, len(annotations))
	for _, i := range order {
		a := annotations[i]
		end := max(a.End, a.Start)
		row := 0
		for row < len(rowEnds) && rowEnds[row] >= a.Start {
			row++
		}
		if row == len(rowEnds) {
			rowEnds = append(rowEnds, end)
		} else {
			rowEnds[row] = end
		}
		tag := "faults"
		if row > 0 {
			tag = fmt.Sprintf("faults %03d", row+1) // zero-padded: the visualizer sorts rows as strings
		}
		out = append(out, porcupine.Annotation{
			Tag:             tag,
			Start:           a.Start,
			End:             end,
			Description:     a.Label,
			Details:         fmt.Sprintf("%s from %s to %s", a.Label, formatNs(a.Start), formatNs(end)),
			BackgroundColor: annotationColor,
		})
	}
	return out
}
