package main

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// checker checks the links of Markdown files under root.
type checker struct {
	root    string
	hosts   []string                   // allowed hosts or host/path prefixes of external links; nil: any
	anchors map[string]map[string]bool // by file (relative to root): its anchors
}

// problem is one broken link.
type problem struct {
	file string
	line int
	msg  string
}

func (p problem) String() string { return fmt.Sprintf("%s:%d: %s", p.file, p.line, p.msg) }

// link is a link's destination, and the line it is on.
type link struct {
	dest string
	line int
}

// checkFile returns the broken links of file (relative to root).
func (c *checker) checkFile(file string) ([]problem, error) {
	data, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(file)))
	if err != nil {
		return nil, err
	}
	var problems []problem
	for _, l := range links(string(data)) {
		if msg := c.check(file, l.dest); msg != "" {
			problems = append(problems, problem{file, l.line, msg})
		}
	}
	return problems, nil
}

var scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// check returns what is wrong with dest, a link of file; "" if nothing.
func (c *checker) check(file, dest string) string {
	if scheme.MatchString(dest) {
		return c.checkURL(dest)
	}
	p, fragment, _ := strings.Cut(dest, "#")
	p, _, _ = strings.Cut(p, "?")
	p, err := url.PathUnescape(p)
	if err != nil {
		return fmt.Sprintf("%s: %v", dest, err)
	}
	target := file
	if p != "" {
		if strings.HasPrefix(p, "/") {
			return dest + ": an absolute path: link relative to this file"
		}
		target = path.Join(path.Dir(file), p)
		if target == ".." || strings.HasPrefix(target, "../") {
			return dest + ": outside the repository"
		}
		if _, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(target))); err != nil {
			return dest + ": no such file or directory"
		}
	}
	if fragment == "" || !strings.HasSuffix(target, ".md") {
		return "" // a fragment of another kind of file (a line of a .go file) is GitHub's
	}
	anchors, err := c.anchorsOf(target)
	if err != nil {
		return fmt.Sprintf("%s: %v", dest, err)
	}
	if !anchors[fragment] {
		return fmt.Sprintf("%s: %s has no heading or anchor #%s", dest, target, fragment)
	}
	return ""
}

// checkURL checks a link with a scheme: https, to an allowed host.
func (c *checker) checkURL(dest string) string {
	u, err := url.Parse(dest)
	if err != nil {
		return fmt.Sprintf("%s: %v", dest, err)
	}
	if u.Scheme != "https" {
		return dest + ": not an https URL (a local address belongs in a code span)"
	}
	if c.hosts == nil {
		return ""
	}
	hostPath := u.Host + u.EscapedPath()
	for _, h := range c.hosts {
		if hostPath == h || strings.HasPrefix(hostPath, strings.TrimSuffix(h, "/")+"/") {
			return ""
		}
	}
	return dest + ": not a host this documentation links to (-hosts): link inside the repository, or to AWS's or Go's documentation"
}

// anchorsOf returns the anchors of a Markdown file: its headings' GitHub
// anchors, and the HTML ids and names it declares.
func (c *checker) anchorsOf(file string) (map[string]bool, error) {
	if a, ok := c.anchors[file]; ok {
		return a, nil
	}
	data, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(file)))
	if err != nil {
		return nil, err
	}
	a := anchors(string(data))
	c.anchors[file] = a
	return a, nil
}

var (
	heading   = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	htmlID    = regexp.MustCompile(`<[^>]*\s(?:id|name)="([^"]+)"`)
	reference = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:[ \t]+<?([^\s>]+)>?`)
	autolink  = regexp.MustCompile(`<((?:https?|mailto|ftp):[^\s>]+)>`)
	htmlLink  = regexp.MustCompile(`\s(?:href|src)="([^"]+)"`)
	bareURL   = regexp.MustCompile(`(?:https?|ftp)://[^\s<>()\[\]"'` + "`" + `]+`)
)

// anchors returns the anchors of a Markdown document.
func anchors(doc string) map[string]bool {
	a := map[string]bool{}
	seen := map[string]int{}
	for _, l := range prose(doc) {
		if m := heading.FindStringSubmatch(l.raw); m != nil {
			s := slug(m[1])
			if n := seen[s]; n > 0 {
				a[fmt.Sprintf("%s-%d", s, n)] = true
			} else {
				a[s] = true
			}
			seen[s]++
		}
		for _, m := range htmlID.FindAllStringSubmatch(l.raw, -1) {
			a[m[1]] = true
		}
	}
	return a
}

// slug is GitHub's anchor of a heading: its text lowercased, without
// punctuation but '-' and '_', spaces made '-'.
func slug(h string) string {
	h = inlineLink.ReplaceAllString(h, "$1")
	h = htmlTag.ReplaceAllString(h, "")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	inlineLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag    = regexp.MustCompile(`<[^>]+>`)
)

// line is a line of prose: its text without code spans, and as written.
type line struct {
	n         int
	text, raw string
}

// prose returns the lines of doc outside fenced code blocks and HTML
// comments, with their code spans removed.
func prose(doc string) []line {
	var (
		out     []line
		fence   string // the open fence, "" outside a code block
		comment bool
	)
	for i, raw := range strings.Split(doc, "\n") {
		trimmed := strings.TrimLeft(raw, " ")
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(strings.TrimSpace(trimmed), fence[:1]) == "" {
				fence = ""
			}
			continue
		case len(raw)-len(trimmed) <= 3 && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, trimmed[:1]))]
			continue
		}
		text := raw
		if comment {
			end := strings.Index(text, "-->")
			if end < 0 {
				continue
			}
			text, comment = text[end+3:], false
		}
		for {
			start := strings.Index(text, "<!--")
			if start < 0 {
				break
			}
			end := strings.Index(text[start:], "-->")
			if end < 0 {
				text, comment = text[:start], true
				break
			}
			text = text[:start] + text[start+end+3:]
		}
		out = append(out, line{n: i + 1, text: withoutCodeSpans(text), raw: text})
	}
	return out
}

// withoutCodeSpans removes the code spans of a line: a run of backticks,
// up to the next run of as many.
func withoutCodeSpans(s string) string {
	var b strings.Builder
	for {
		start := strings.Index(s, "`")
		if start < 0 {
			b.WriteString(s)
			return b.String()
		}
		n := len(s[start:]) - len(strings.TrimLeft(s[start:], "`"))
		ticks := s[start : start+n]
		rest := s[start+n:]
		end := -1
		for off := 0; ; {
			j := strings.Index(rest[off:], ticks)
			if j < 0 {
				break
			}
			j += off
			k := j + len(ticks)
			if (j == 0 || rest[j-1] != '`') && (k == len(rest) || rest[k] != '`') {
				end = j
				break
			}
			off = k
		}
		if end < 0 { // no closing run: the backticks are literal
			b.WriteString(s[:start+n])
			s = rest
			continue
		}
		b.WriteString(s[:start])
		s = rest[end+n:]
	}
}

// links returns the links of a Markdown document: inline links and
// images, reference definitions, autolinks, HTML href and src, and bare
// URLs, outside code.
func links(doc string) []link {
	var out []link
	for _, l := range prose(doc) {
		text := l.text
		if m := reference.FindStringSubmatch(text); m != nil {
			out = append(out, link{m[1], l.n})
			continue
		}
		for _, d := range inlineDests(text) {
			out = append(out, link{d, l.n})
			text = strings.Replace(text, d, "", 1)
		}
		for _, re := range []*regexp.Regexp{autolink, htmlLink} {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				out = append(out, link{m[1], l.n})
				text = strings.Replace(text, m[1], "", 1)
			}
		}
		for _, u := range bareURL.FindAllString(text, -1) {
			out = append(out, link{strings.TrimRight(u, ".,;:!?*_"), l.n})
		}
	}
	return out
}

// inlineDests returns the destinations of the inline links and images of
// a line: what follows "](" up to the closing parenthesis, without a title.
func inlineDests(s string) []string {
	var dests []string
	for {
		i := strings.Index(s, "](")
		if i < 0 {
			return dests
		}
		s = strings.TrimLeft(s[i+2:], " ")
		if strings.HasPrefix(s, "<") {
			end := strings.Index(s, ">")
			if end < 0 {
				return dests
			}
			dests = append(dests, s[1:end])
			s = s[end+1:]
			continue
		}
		depth, end := 0, len(s)
	scan:
		for j, r := range s {
			switch {
			case r == '(':
				depth++
			case r == ')' && depth == 0, r == ' ' || r == '\t':
				end = j
				break scan
			case r == ')':
				depth--
			}
		}
		if end > 0 {
			dests = append(dests, s[:end])
		}
		s = s[end:]
	}
}
