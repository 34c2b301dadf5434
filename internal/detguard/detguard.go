// Package detguard checks that Go source meant to run inside a raftsim simulation cannot be
// nondeterministic. A run must be a pure function of (code, configuration, seed), so such code
// must not read the host clock, use global or OS randomness, start goroutines, use channels or
// select, or let map iteration order reach behaviour.
//
// Check parses and type-checks one package directory and reports every forbidden construct:
//
//   - time: calls or references to time.Now, Since, Until, Sleep, After, AfterFunc, Tick,
//     NewTimer, NewTicker (time.Duration and other types are fine);
//   - math-rand: package-level functions of math/rand and math/rand/v2 (the constructors New,
//     NewSource, NewPCG, NewChaCha8 and NewZipf, given an explicit seed, are fine);
//   - crypto-rand: importing crypto/rand;
//   - goroutine, select, channel: go statements, select statements, channel types, sends,
//     receives and range over a channel;
//   - map-range: range over a value of map type;
//   - map-iterator: maps.Keys, maps.Values, maps.All (their order is the map's), unless passed
//     straight to slices.Sorted, slices.SortedFunc or slices.SortedStableFunc.
//
// A map range or map iterator whose order provably cannot matter is accepted when its line, or
// the line just above, carries the comment
//
//	// detguard:unordered <why the order cannot matter>
//
// The reason is mandatory; a marker without one is itself reported (rule "marker").
package detguard

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Finding is one forbidden construct.
type Finding struct {
	File string // path of the file: the dir given to Check joined with the file name
	Line int
	Rule string // one of the Rule constants
	Text string // what was found and what to do instead
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: [%s] %s", f.File, f.Line, f.Rule, f.Text)
}

// Rules reported in Finding.Rule.
const (
	RuleTime        = "time"
	RuleMathRand    = "math-rand"
	RuleCryptoRand  = "crypto-rand"
	RuleGoroutine   = "goroutine"
	RuleSelect      = "select"
	RuleChannel     = "channel"
	RuleMapRange    = "map-range"
	RuleMapIterator = "map-iterator"
	RuleMarker      = "marker"
)

// Marker is the comment that accepts a map range or map iterator whose order cannot matter.
const Marker = "detguard:unordered"

var forbiddenTimeFuncs = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true,
	"Tick": true, "NewTimer": true, "NewTicker": true,
}

// Constructors of math/rand and math/rand/v2 that take an explicit seed or source, and the
// package's type names (which only reach the check when the package did not type-check).
var allowedRandFuncs = map[string]bool{
	"New": true, "NewSource": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
	"Rand": true, "Source": true, "Source64": true, "Zipf": true, "PCG": true, "ChaCha8": true,
}

var unorderedMapIterators = map[string]bool{"Keys": true, "Values": true, "All": true}

var sortingConsumers = map[string]bool{"Sorted": true, "SortedFunc": true, "SortedStableFunc": true}

// newImporter returns an importer for the packages dir imports. It reads the compiler's
// export data, located with one "go list -export -deps" run (fast, and cached by the go build
// cache). Without a usable go command it falls back to type-checking imports from source,
// which gives the same answers more slowly.
func newImporter(fset *token.FileSet, dir string) types.Importer {
	cmd := exec.Command("go", "list", "-e", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", ".")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return importer.ForCompiler(fset, "source", nil)
	}
	exports := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		path, file, ok := strings.Cut(line, "\t")
		if ok && file != "" {
			exports[path] = file
		}
	}
	return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q: does it compile? (go list -export -deps in %s)", path, dir)
		}
		return os.Open(file)
	})
}

// Check reports the forbidden constructs in the non-test .go files of dir (not its
// subdirectories), in file and line order. Files excluded by build constraints for the
// current platform are skipped. It returns an error if dir cannot be read, a file does not
// parse, or the package does not type-check (map ranges could then go unnoticed); findings
// found so far are returned with the error.
func Check(dir string) ([]Finding, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("detguard: %w", err)
	}
	var names []string
	for _, entry := range entries {
		name := entry.Name()
		if entry.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		match, err := build.Default.MatchFile(dir, name)
		if err != nil {
			return nil, fmt.Errorf("detguard: %s: %w", filepath.Join(dir, name), err)
		}
		if match {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	fset := token.NewFileSet()
	byPackage := map[string][]*ast.File{}
	var packageNames []string
	var parseErrors []error
	for _, name := range names {
		file, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			parseErrors = append(parseErrors, err)
			continue
		}
		pkg := file.Name.Name
		if byPackage[pkg] == nil {
			packageNames = append(packageNames, pkg)
		}
		byPackage[pkg] = append(byPackage[pkg], file)
	}
	if len(parseErrors) > 0 {
		return nil, fmt.Errorf("detguard: %w", errors.Join(parseErrors...))
	}

	var findings []Finding
	var typeErrors []error
	var imports types.Importer
	if len(packageNames) > 0 {
		imports = newImporter(fset, dir)
	}
	for _, pkg := range packageNames {
		files := byPackage[pkg]
		info := &types.Info{
			Types: map[ast.Expr]types.TypeAndValue{},
			Uses:  map[*ast.Ident]types.Object{},
		}
		conf := types.Config{
			Importer: imports,
			Error: func(err error) {
				if len(typeErrors) < 10 {
					typeErrors = append(typeErrors, err)
				}
			},
		}
		// Errors are collected through conf.Error; info is filled as far as checking got.
		_, _ = conf.Check(pkg, fset, files, info)
		for _, file := range files {
			findings = append(findings, checkFile(fset, file, info)...)
		}
	}
	sort.SliceStable(findings, func(i, j int) bool {
		if findings[i].File != findings[j].File {
			return findings[i].File < findings[j].File
		}
		return findings[i].Line < findings[j].Line
	})
	if len(typeErrors) > 0 {
		return findings, fmt.Errorf("detguard: %s does not type-check, so map ranges may go unnoticed: %w",
			dir, errors.Join(typeErrors...))
	}
	return findings, nil
}

// fileChecker walks one file.
type fileChecker struct {
	fset     *token.FileSet
	file     *ast.File
	info     *types.Info
	imports  map[string]string // local name -> import path, for identifiers types did not resolve
	markers  map[int]bool      // lines carrying a marker with a reason
	exempt   map[*ast.SelectorExpr]bool
	findings []Finding
}

func checkFile(fset *token.FileSet, file *ast.File, info *types.Info) []Finding {
	c := &fileChecker{
		fset:    fset,
		file:    file,
		info:    info,
		imports: map[string]string{},
		markers: map[int]bool{},
		exempt:  map[*ast.SelectorExpr]bool{},
	}
	c.collectImports()
	c.collectMarkers()
	c.collectSortedIterators()
	ast.Inspect(file, c.visit)
	return c.findings
}

func (c *fileChecker) report(pos token.Pos, rule, format string, args ...any) {
	p := c.fset.Position(pos)
	c.findings = append(c.findings, Finding{File: p.Filename, Line: p.Line, Rule: rule, Text: fmt.Sprintf(format, args...)})
}

func (c *fileChecker) line(pos token.Pos) int { return c.fset.Position(pos).Line }

func (c *fileChecker) collectImports() {
	for _, spec := range c.file.Imports {
		path := strings.Trim(spec.Path.Value, `"`)
		if path == "crypto/rand" {
			c.report(spec.Pos(), RuleCryptoRand, "imports crypto/rand: all randomness must come from the run seed (sim.Rand)")
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if path == "math/rand/v2" {
			name = "rand"
		}
		if spec.Name != nil {
			name = spec.Name.Name
		}
		c.imports[name] = path
	}
}

func (c *fileChecker) collectMarkers() {
	for _, group := range c.file.Comments {
		for _, comment := range group.List {
			text := comment.Text
			i := strings.Index(text, Marker)
			if i < 0 {
				continue
			}
			reason := strings.TrimSpace(strings.TrimSuffix(text[i+len(Marker):], "*/"))
			if reason == "" {
				c.report(comment.Pos(), RuleMarker, "%s marker without a reason: say why the iteration order cannot matter", Marker)
				continue
			}
			c.markers[c.line(comment.Pos())] = true
		}
	}
}

// marked reports whether the construct at pos is accepted by a marker on its line or the line
// just above.
func (c *fileChecker) marked(pos token.Pos) bool {
	line := c.line(pos)
	return c.markers[line] || c.markers[line-1]
}

// collectSortedIterators exempts maps.Keys(m) and friends passed straight to slices.Sorted*.
func (c *fileChecker) collectSortedIterators() {
	ast.Inspect(c.file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		consumer, ok := unparen(call.Fun).(*ast.SelectorExpr)
		if !ok || c.packageOf(consumer) != "slices" || !sortingConsumers[consumer.Sel.Name] {
			return true
		}
		inner, ok := unparen(call.Args[0]).(*ast.CallExpr)
		if !ok {
			return true
		}
		if iterator, ok := unparen(inner.Fun).(*ast.SelectorExpr); ok && c.packageOf(iterator) == "maps" {
			c.exempt[iterator] = true
		}
		return true
	})
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// packageOf returns the import path of the package a selector like pkg.Name refers to, or "".
func (c *fileChecker) packageOf(sel *ast.SelectorExpr) string {
	ident, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	if obj := c.info.Uses[ident]; obj != nil {
		if pkgName, ok := obj.(*types.PkgName); ok {
			return pkgName.Imported().Path()
		}
		return "" // a variable, type or other non-package name
	}
	return c.imports[ident.Name] // not type-checked: fall back to the file's imports
}

// packageFunc resolves an identifier used as a package-level function: its package path and
// name. Methods, variables and types resolve to ok == false.
func (c *fileChecker) packageFunc(ident *ast.Ident) (path, name string, ok bool) {
	fn, isFunc := c.info.Uses[ident].(*types.Func)
	if !isFunc || fn.Pkg() == nil {
		return "", "", false
	}
	if sig, isSig := fn.Type().(*types.Signature); isSig && sig.Recv() != nil {
		return "", "", false
	}
	return fn.Pkg().Path(), fn.Name(), true
}

func (c *fileChecker) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.GoStmt:
		c.report(n.Pos(), RuleGoroutine, "go statement: simulated code runs on the kernel's single thread; schedule work with timers or kernel events")
	case *ast.SelectStmt:
		c.report(n.Pos(), RuleSelect, "select statement: its choice among ready cases is random")
	case *ast.SendStmt:
		c.report(n.Pos(), RuleChannel, "channel send: simulated code must not use channels")
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			c.report(n.Pos(), RuleChannel, "channel receive: simulated code must not use channels")
		}
	case *ast.ChanType:
		c.report(n.Pos(), RuleChannel, "channel type: simulated code must not use channels")
	case *ast.RangeStmt:
		c.checkRange(n)
	case *ast.Ident:
		if path, name, ok := c.packageFunc(n); ok {
			c.checkFuncUse(n.Pos(), path, name, nil)
		}
	case *ast.SelectorExpr:
		if _, resolved := c.info.Uses[n.Sel]; !resolved {
			// Not type-checked (the package has errors): judge by the import name.
			if path := c.packageOf(n); path != "" {
				c.checkFuncUse(n.Pos(), path, n.Sel.Name, n)
			}
		} else if c.exempt[n] {
			return false // the exempt maps.Keys inside slices.Sorted: skip its identifiers
		} else if path, name, ok := c.packageFunc(n.Sel); ok && path == "maps" {
			c.checkFuncUse(n.Pos(), path, name, n)
			return false
		}
	}
	return true
}

// checkFuncUse judges one use of the package-level function path.name.
func (c *fileChecker) checkFuncUse(pos token.Pos, path, name string, sel *ast.SelectorExpr) {
	switch path {
	case "time":
		if forbiddenTimeFuncs[name] {
			c.report(pos, RuleTime, "time.%s uses the host clock: use the simulation clock (Env.Now, Env.SetTimer, Sim.After)", name)
		}
	case "math/rand", "math/rand/v2":
		if !allowedRandFuncs[name] {
			c.report(pos, RuleMathRand, "%s.%s draws from the global generator: use a seeded stream (Env.Rand, Sim.Rand)", path, name)
		}
	case "maps":
		if unorderedMapIterators[name] && (sel == nil || !c.exempt[sel]) && !c.marked(pos) {
			c.report(pos, RuleMapIterator, "maps.%s iterates in map order: wrap it in slices.Sorted, or mark it with // %s <reason>", name, Marker)
		}
	}
}

func (c *fileChecker) checkRange(n *ast.RangeStmt) {
	tv, ok := c.info.Types[n.X]
	if !ok || tv.Type == nil {
		return
	}
	switch {
	case mayBe[*types.Map](tv.Type):
		if !c.marked(n.Pos()) {
			c.report(n.Pos(), RuleMapRange, "range over a map (%s): iterate sorted keys, or mark it with // %s <reason>", tv.Type, Marker)
		}
	case mayBe[*types.Chan](tv.Type):
		c.report(n.Pos(), RuleChannel, "range over a channel: simulated code must not use channels")
	}
}

// mayBe reports whether t's underlying type is a K, or, for a type parameter, whether any
// type its constraint allows is.
func mayBe[K types.Type](t types.Type) bool {
	if _, ok := t.Underlying().(K); ok {
		return true
	}
	param, ok := t.(*types.TypeParam)
	if !ok {
		return false
	}
	constraint, ok := param.Constraint().Underlying().(*types.Interface)
	if !ok {
		return false
	}
	for i := 0; i < constraint.NumEmbeddeds(); i++ {
		embedded := constraint.EmbeddedType(i)
		union, isUnion := embedded.(*types.Union)
		if !isUnion {
			if mayBe[K](embedded) {
				return true
			}
			continue
		}
		for j := 0; j < union.Len(); j++ {
			if mayBe[K](union.Term(j).Type()) {
				return true
			}
		}
	}
	return false
}
