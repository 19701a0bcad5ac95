package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Two commands":                        "two-commands",
		"`mw.resolve` (internal)":             "mwresolve-internal",
		"`mw.fetch.retry` on `mw.fetch`":      "mwfetchretry-on-mwfetch",
		"Which source when?":                  "which-source-when",
		"Errors: every `Class`, and its fix":  "errors-every-class-and-its-fix",
		"Run it [locally](docs/x.md)":         "run-it-locally",
		"AWS_SESSION_TOKEN and the 401":       "aws_session_token-and-the-401",
		"Operations — storms, quotas & scale": "operations--storms-quotas--scale",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
}

func TestAnchors(t *testing.T) {
	doc := "# Title\n\n## Usage\n\n```md\n## Not a heading\n```\n\n## Usage\n\n<a id=\"custom\"></a>\n<!-- ## commented -->\n"
	got := anchors(doc)
	for _, want := range []string{"title", "usage", "usage-1", "custom"} {
		if !got[want] {
			t.Errorf("anchor %q missing from %v", want, got)
		}
	}
	for _, unwanted := range []string{"not-a-heading", "commented"} {
		if got[unwanted] {
			t.Errorf("anchor %q found, but it is in code or a comment", unwanted)
		}
	}
}

func TestLinks(t *testing.T) {
	doc := strings.Join([]string{
		"See [a](a.md), ![pic](img/p.svg \"title\") and [b](<b c.md#x>).",
		"Code `[not](a link.md)` and ``[nor](this.md)``.",
		"```sh",
		"[inside](code.md) https://in.code.example",
		"```",
		"[ref]: ref.md",
		"<https://docs.aws.amazon.com/x> and https://go.dev/doc/, bare.",
		`<img src="docs/x.png"> <a href="y.md#z">y</a>`,
		"A (parenthesised [link](p.md)) and [fn](f(1).md).",
		"<!-- [hidden](h.md) -->",
	}, "\n")
	var got []string
	for _, l := range links(doc) {
		got = append(got, l.dest)
	}
	want := []string{"a.md", "img/p.svg", "b c.md#x", "ref.md", "https://docs.aws.amazon.com/x", "docs/x.png", "y.md#z", "https://go.dev/doc/", "p.md", "f(1).md"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("links:\n got %q\nwant %q", got, want)
	}
}

// TestCheck checks a small repository: each kind of broken link is
// reported on its line, and nothing else is.
func TestCheck(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/guide.md", "# Guide\n\n## The `Class` of an error\n\nBack to [the top](#guide).\n")
	write("src/main.go", "package main\n")
	write("README.md", strings.Join([]string{
		"# Project",              // 1
		"[guide](docs/guide.md)", // 2 ok
		"[section](docs/guide.md#the-class-of-an-error)", // 3 ok
		"[code](src/main.go#L1) [dir](src/)",             // 4 ok
		"[here](#project)",                               // 5 ok
		"[gone](docs/missing.md)",                        // 6 missing file
		"[typo](docs/guide.md#the-class)",                // 7 missing anchor
		"[self](#nowhere)",                               // 8 missing anchor here
		"[up](../outside.md)",                            // 9 outside the repository
		"[abs](/docs/guide.md)",                          // 10 absolute
		"[plain](http://example.com/)",                   // 11 not https
		"[aws](https://docs.aws.amazon.com/lambda/)",     // 12 ok
		"[other](https://example.com/)",                  // 13 host not allowed
		"[agent](https://github.com/aws/aws-lambda-go)",  // 14 ok: a prefix
		"[elsewhere](https://github.com/awsome/x)",       // 15 not the prefix
	}, "\n"))

	c := &checker{root: root, anchors: map[string]map[string]bool{}, hosts: []string{"docs.aws.amazon.com", "github.com/aws/"}}
	var got []int
	for _, f := range []string{"README.md", "docs/guide.md"} {
		problems, err := c.checkFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			if p.file != "README.md" {
				t.Errorf("unexpected problem: %s", p)
			}
			got = append(got, p.line)
			t.Log(p)
		}
	}
	if want := []int{6, 7, 8, 9, 10, 11, 13, 15}; !slices.Equal(got, want) {
		t.Errorf("broken links reported on lines %v, want %v", got, want)
	}
}
