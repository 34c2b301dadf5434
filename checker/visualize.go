package checker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Annotation is a window of virtual time to draw beside the client operations in a
// visualization: a fault (partition, crash, pause...) or any other event of the run.
type Annotation struct {
	Start, End int64 // virtual ns; End < Start is drawn as a point at Start
	Label      string
}

// visualizeUnknownBound bounds the search again of the key that made a check Unknown, for its
// drawing: the drawing needs only the partial orders found so far.
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
	return WriteVisualizationWith(r, annotations, path, VisualizeOptions{})
}

// VisualizeOptions add to Porcupine's page.
type VisualizeOptions struct {
	// BackLink, when set, is the address of the run's timeline page, linked from the legend.
	BackLink string
}

// WriteVisualizationWith is WriteVisualization with options. Beyond Porcupine's own drawing,
// the page keeps only the annotations that overlap the drawn operations (clipped to them, so
// that the page is no wider than the operations need), marks the operations of an Illegal
// result with a red outline, gives the first of them the element id "violation", and opens
// scrolled to it.
func WriteVisualizationWith(r LinResult, annotations []Annotation, path string, opts VisualizeOptions) error {
	model, info := r.visualizationInfo()
	info.AddAnnotations(toPorcupineAnnotations(clipAnnotations(annotations, r)))

	var page bytes.Buffer
	if err := porcupine.Visualize(model, info, &page); err != nil {
		return fmt.Errorf("checker: writing visualization: %w", err)
	}
	html, err := addPageScript(page.String(), r, opts)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(html))
}

// writeFileAtomic writes data to path+".tmp", syncs it, then renames it onto path, so a reader
// never sees a partial file and none is left behind on error.
func writeFileAtomic(path string, data []byte) error {
	tmpPath := path + ".tmp"
	file, err := os.OpenFile(tmpPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("checker: writing visualization: %w", err)
	}
	_, err = file.Write(data)
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

// visualizeMarginNs is how far before the first and after the last drawn operation fault
// windows are kept on Porcupine's page.
const visualizeMarginNs = int64(500 * time.Millisecond)

// clipAnnotations keeps the annotations that overlap the operations Porcupine will draw (with a
// margin), clipped to that range: windows far from the drawn operations only widen the page.
func clipAnnotations(annotations []Annotation, r LinResult) []Annotation {
	first, last, ok := drawnRange(r)
	if !ok {
		return annotations
	}
	from, to := first-visualizeMarginNs, last+visualizeMarginNs
	var out []Annotation
	for _, a := range annotations {
		end := max(a.End, a.Start)
		if end < from || a.Start > to {
			continue
		}
		a.Start, a.End = max(a.Start, from), min(end, to)
		out = append(out, a)
	}
	return out
}

// drawnRange is the time range of the operations on the page: those of the result's key when
// it has one, else the whole history (LinResult.viewOperations).
func drawnRange(r LinResult) (first, last int64, ok bool) {
	first, last = int64(pendingReturnNs), int64(-1)
	visit := func(call, ret int64) {
		first = min(first, call)
		if ret != pendingReturnNs {
			last = max(last, ret)
		}
		last = max(last, call)
	}
	for _, op := range r.viewOperations {
		visit(op.Call, op.Return)
	}
	return first, last, last >= 0
}

// pageScript runs after Porcupine's render: it outlines the operations the check names, gives
// the first one the id "violation" and scrolls to it, and links the timeline page.
const pageScript = `
<script>
(function () {
  const named = %s;
  const backLink = %s;
  if (backLink) {
    const legend = document.querySelector('#legend');
    const a = document.createElement('a');
    a.href = backLink;
    a.id = 'timeline-link';
    a.textContent = 'timeline of the whole run';
    a.style.marginLeft = '12px';
    legend.appendChild(a);
  }
  let first = null;
  data.Partitions.forEach(function (partition, p) {
    partition.History.forEach(function (element, i) {
      for (const op of named) {
        // Porcupine draws a call on its client's row, a pending write on a row of its own.
        if (element.OriginalStart === String(op.call) && (element.ClientId === op.client || op.pending)) {
          const target = document.querySelector('rect.target-rect[data-partition="' + p + '"][data-index="' + i + '"]');
          if (!target) continue;
          for (const rect of document.querySelectorAll('rect.history-rect')) {
            if (rect.getAttribute('x') === target.getAttribute('x') && rect.getAttribute('y') === target.getAttribute('y')) {
              rect.style.stroke = '#c0392b';
              rect.style.strokeWidth = '3px';
            }
          }
          if (!first || element.Start < first.start) first = {el: target, start: element.Start};
        }
      }
    });
  });
  if (first) {
    first.el.id = 'violation';
    first.el.scrollIntoView({block: 'center', inline: 'center'});
  }
})();
</script>
`

// addPageScript appends pageScript to Porcupine's page, before the end of its body.
func addPageScript(page string, r LinResult, opts VisualizeOptions) (string, error) {
	type namedOp struct {
		Call    int64 `json:"call"`
		Client  int   `json:"client"`
		Pending bool  `json:"pending"`
	}
	var named []namedOp
	if r.Verdict == Illegal {
		for _, op := range r.Ops {
			named = append(named, namedOp{op.Call, op.Client, op.Pending})
		}
	}
	namedJSON, err := json.Marshal(named)
	if err != nil {
		return "", err
	}
	if named == nil {
		namedJSON = []byte("[]")
	}
	linkJSON, err := json.Marshal(opts.BackLink)
	if err != nil {
		return "", err
	}
	end := strings.LastIndex(page, "</body>")
	if end < 0 {
		return "", errors.New("checker: Porcupine's page has no </body>")
	}
	return page[:end] + fmt.Sprintf(pageScript, namedJSON, linkJSON) + page[end:], nil
}
