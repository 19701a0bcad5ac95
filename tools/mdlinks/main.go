// Command mdlinks checks the links of Markdown files: every relative link
// must name a file or directory of the repository, and its #fragment a
// heading (or an HTML id or name) of the Markdown file it names; every other
// link must be an https URL, of an allowed host when -hosts is given.
// Code blocks and code spans are not links.
//
//	go -C tools run ./mdlinks -root .. [-hosts h1,h2/path,...] README.md docs
//
// Paths are files or directories (searched for *.md) relative to -root, the
// repository's root, which no link may leave. Each broken link is printed as
// file:line: problem; the exit status is 1 if there was any, 2 on a usage
// error. scripts/links.sh runs it as CI does.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	root := flag.String("root", ".", "the repository's root: paths and links resolve inside it")
	hosts := flag.String("hosts", "", "comma-separated hosts (or host/path prefixes) that external links may name; empty: any host")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: mdlinks [-root dir] [-hosts list] file-or-directory...\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	c := &checker{root: *root, anchors: map[string]map[string]bool{}}
	if *hosts != "" {
		c.hosts = strings.Split(*hosts, ",")
	}
	files, err := markdownFiles(*root, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mdlinks:", err)
		os.Exit(2)
	}
	var problems []problem
	for _, f := range files {
		ps, err := c.checkFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mdlinks:", err)
			os.Exit(2)
		}
		problems = append(problems, ps...)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		fmt.Printf("mdlinks: %d broken (of the links in %d files)\n", len(problems), len(files))
		os.Exit(1)
	}
	fmt.Printf("mdlinks: every link of %d files resolves\n", len(files))
}

// markdownFiles returns the Markdown files that paths name, relative to
// root, with slashes: files as given, directories searched for *.md.
func markdownFiles(root string, paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, filepath.ToSlash(filepath.Clean(p)))
			continue
		}
		err = filepath.WalkDir(filepath.Join(root, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".md") {
				rel, err := filepath.Rel(root, path)
				if err != nil {
					return err
				}
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, errors.New("no Markdown file in " + strings.Join(paths, " "))
	}
	return files, nil
}
