package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityNamesRealTests checks that every test or benchmark
// docs/SECURITY.md names as holding a rule exists, in the package it names
// when it names one: the page cannot point at a test that was renamed or
// removed.
func TestSecurityNamesRealTests(t *testing.T) {
	page, err := os.ReadFile("SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string][]string{} // name -> the directories defining it
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz)\w+)\(`)
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllSubmatch(src, -1) {
			funcs[string(m[1])] = append(funcs[string(m[1])], filepath.ToSlash(filepath.Dir(path)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`(?:([\\w/-]+)\\.)?((?:Test|Benchmark|Fuzz)\\w+)`")
	n := 0
	for _, m := range named.FindAllStringSubmatch(string(page), -1) {
		pkg, name := m[1], m[2]
		dirs, ok := funcs[name]
		if !ok {
			t.Errorf("SECURITY.md names %s, which no test file defines", m[0])
			continue
		}
		if pkg != "" && !slicesHasSuffix(dirs, "/"+pkg) {
			t.Errorf("SECURITY.md names %s, but %s is defined in %v", m[0], name, dirs)
		}
		n++
	}
	if n < 20 {
		t.Fatalf("SECURITY.md names only %d tests", n)
	}
}

func slicesHasSuffix(dirs []string, suffix string) bool {
	for _, d := range dirs {
		if strings.HasSuffix(d, suffix) {
			return true
		}
	}
	return false
}
