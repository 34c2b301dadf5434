// Package browser drives a headless Chromium through the Chrome DevTools Protocol, for tests
// that check pages as a browser lays them out (the timeline and Porcupine pages): load a
// file, collect JavaScript exceptions, evaluate expressions, take screenshots. It speaks the
// protocol over a minimal WebSocket client of its own (standard library only).
//
// Chromium runs with a fresh profile directory, no sandbox (tests run as root in CI), no GPU,
// and no network activity of its own (no component updates, sync or background requests).
package browser

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Candidates are the executable names tried by Find, in order.
var Candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// InstallHint says how to get a browser on the distributions the project runs on.
const InstallHint = "install Chromium (Debian/Ubuntu: apt-get install -y chromium), or put chromium or google-chrome on PATH"

// Find returns the path of the first Chromium-like browser on PATH.
func Find() (string, error) {
	for _, name := range Candidates {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no browser found (tried %s): %s", strings.Join(Candidates, ", "), InstallHint)
}

// startTimeout bounds how long Chromium may take to open its DevTools endpoint.
const startTimeout = 30 * time.Second

// Browser is a running headless Chromium.
type Browser struct {
	cmd        *exec.Cmd
	httpURL    string // http://127.0.0.1:PORT
	done       chan struct{}
	profileDir string
}

var devtoolsLine = regexp.MustCompile(`DevTools listening on (ws://[^/\s]+)/`)

// Start launches the browser at path with a fresh profile in a temporary directory, removed by
// Close.
func Start(path string) (*Browser, error) {
	profileDir, err := os.MkdirTemp("", "raftsim-browser-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
		"--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir="+profileDir, "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profileDir)
		return nil, fmt.Errorf("browser: starting %s: %w", path, err)
	}
	b := &Browser{cmd: cmd, done: make(chan struct{}), profileDir: profileDir}
	found := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stderr)
		for scanner.Scan() {
			if m := devtoolsLine.FindStringSubmatch(scanner.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		close(b.done)
	}()
	select {
	case ws := <-found:
		b.httpURL = "http://" + strings.TrimPrefix(ws, "ws://")
		return b, nil
	case <-b.done:
		b.Close()
		return nil, fmt.Errorf("browser: %s exited before opening its DevTools endpoint", path)
	case <-time.After(startTimeout):
		b.Close()
		return nil, fmt.Errorf("browser: %s did not open its DevTools endpoint within %v", path, startTimeout)
	}
}

// closeTimeout bounds how long Close waits for the browser to shut down before killing it.
const closeTimeout = 5 * time.Second

// Close stops the browser (asking first, so that its helper processes exit with it) and
// removes its profile.
func (b *Browser) Close() {
	exited := make(chan struct{})
	go func() { b.cmd.Wait(); close(exited) }()
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(closeTimeout):
		b.cmd.Process.Kill()
		<-exited
	}
	for try := 0; try < 10; try++ { // helper processes may still be writing for a moment
		if os.RemoveAll(b.profileDir) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NewPage opens a blank tab and connects to it.
func (b *Browser) NewPage(ctx context.Context) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.httpURL+"/json/new?about:blank", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("browser: opening a tab: %w", err)
	}
	defer resp.Body.Close()
	var target struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&target); err != nil || target.WebSocketDebuggerURL == "" {
		return nil, fmt.Errorf("browser: opening a tab: bad answer (%v)", err)
	}
	ws, err := dialWebSocket(ctx, target.WebSocketDebuggerURL)
	if err != nil {
		return nil, err
	}
	p := &Page{ws: ws, replies: map[int64]chan reply{}, loaded: make(chan struct{}, 16)}
	go p.readLoop()
	for _, domain := range []string{"Page.enable", "Runtime.enable"} {
		if _, err := p.Call(ctx, domain, nil); err != nil {
			ws.Close()
			return nil, err
		}
	}
	return p, nil
}

// Page is one tab.
type Page struct {
	ws *webSocket

	mu         sync.Mutex
	nextID     int64
	replies    map[int64]chan reply
	exceptions []string
	readErr    error
	loaded     chan struct{}
}

type reply struct {
	Result json.RawMessage
	Err    error
}

// Close closes the connection to the tab.
func (p *Page) Close() { p.ws.Close() }

func (p *Page) readLoop() {
	for {
		data, err := p.ws.ReadMessage()
		if err != nil {
			p.mu.Lock()
			p.readErr = err
			for id, ch := range p.replies {
				ch <- reply{Err: err}
				delete(p.replies, id)
			}
			p.mu.Unlock()
			return
		}
		var msg struct {
			ID     int64           `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &msg) != nil {
			continue
		}
		switch {
		case msg.ID != 0:
			p.mu.Lock()
			ch := p.replies[msg.ID]
			delete(p.replies, msg.ID)
			p.mu.Unlock()
			if ch != nil {
				r := reply{Result: msg.Result}
				if msg.Error != nil {
					r.Err = errors.New("browser: " + msg.Error.Message)
				}
				ch <- r
			}
		case msg.Method == "Runtime.exceptionThrown":
			var ev struct {
				Details struct {
					Text      string `json:"text"`
					Line      int    `json:"lineNumber"`
					Exception struct {
						Description string `json:"description"`
					} `json:"exception"`
				} `json:"exceptionDetails"`
			}
			json.Unmarshal(msg.Params, &ev)
			p.mu.Lock()
			p.exceptions = append(p.exceptions, fmt.Sprintf("line %d: %s %s", ev.Details.Line+1, ev.Details.Text, ev.Details.Exception.Description))
			p.mu.Unlock()
		case msg.Method == "Page.loadEventFired":
			select {
			case p.loaded <- struct{}{}:
			default:
			}
		}
	}
}

// Call sends one protocol command and waits for its result.
func (p *Page) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	p.mu.Lock()
	if p.readErr != nil {
		p.mu.Unlock()
		return nil, p.readErr
	}
	p.nextID++
	id := p.nextID
	ch := make(chan reply, 1)
	p.replies[id] = ch
	p.mu.Unlock()
	msg, err := json.Marshal(struct {
		ID     int64  `json:"id"`
		Method string `json:"method"`
		Params any    `json:"params,omitempty"`
	}{id, method, params})
	if err != nil {
		return nil, err
	}
	if err := p.ws.WriteMessage(msg); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.Result, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("browser: %s: %w", method, ctx.Err())
	}
}

// SetViewport sets the size of the page's viewport in CSS pixels.
func (p *Page) SetViewport(ctx context.Context, width, height int) error {
	_, err := p.Call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false})
	return err
}

// Load navigates to url and waits for its load event; it returns the time from the request
// to the load event (the page's scripts that run while it loads included).
func (p *Page) Load(ctx context.Context, url string) (time.Duration, error) {
	for len(p.loaded) > 0 {
		<-p.loaded
	}
	start := time.Now()
	res, err := p.Call(ctx, "Page.navigate", map[string]any{"url": url})
	if err != nil {
		return 0, err
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	json.Unmarshal(res, &nav)
	if nav.ErrorText != "" {
		return 0, fmt.Errorf("browser: loading %s: %s", url, nav.ErrorText)
	}
	select {
	case <-p.loaded:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("browser: loading %s: %w", url, ctx.Err())
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its (JSON-serializable)
// value into out.
func (p *Page) Eval(ctx context.Context, expression string, out any) error {
	res, err := p.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expression, "returnByValue": true})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("browser: evaluating %q: %s", expression, r.Exception.Text)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Exceptions returns the uncaught JavaScript exceptions seen so far.
func (p *Page) Exceptions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.exceptions...)
}

// Screenshot returns a PNG of the viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	res, err := p.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		return nil, err
	}
	var r struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// Rect is an element's box in viewport coordinates, with the viewport's size.
type Rect struct {
	Found                    bool
	Left, Top, Right, Bottom float64
	ViewportW, ViewportH     float64
}

// InViewport reports whether the box lies wholly inside the viewport.
func (r Rect) InViewport() bool {
	return r.Found && r.Right > r.Left && r.Bottom > r.Top &&
		r.Left >= 0 && r.Top >= 0 && r.Right <= r.ViewportW && r.Bottom <= r.ViewportH
}

// ElementRect returns the layout box the browser computed for the element with the given id.
func (p *Page) ElementRect(ctx context.Context, id string) (Rect, error) {
	idJSON, _ := json.Marshal(id)
	var r Rect
	err := p.Eval(ctx, `(function () {
		const e = document.getElementById(`+string(idJSON)+`);
		if (!e) return {Found: false, ViewportW: innerWidth, ViewportH: innerHeight};
		const b = e.getBoundingClientRect();
		return {Found: true, Left: b.left, Top: b.top, Right: b.right, Bottom: b.bottom,
			ViewportW: document.documentElement.clientWidth, ViewportH: document.documentElement.clientHeight};
	})()`, &r)
	return r, err
}

// FileURL is the file:// URL of a local path.
func FileURL(path string) string {
	if !strings.HasPrefix(path, "/") {
		if wd, err := os.Getwd(); err == nil {
			path = wd + "/" + path
		}
	}
	return "file://" + path
}
