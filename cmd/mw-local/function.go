package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// The function: built from its main package, or a bootstrap built already.

// function finds or builds the bootstrap cfg.target names, into dir. It
// returns its path and the function's name.
func function(ctx context.Context, cfg config, dir string, logw io.Writer) (bootstrap, name string, err error) {
	fi, statErr := os.Stat(cfg.target)
	switch {
	case statErr == nil && fi.Mode().IsRegular():
		abs, err := filepath.Abs(cfg.target)
		if err != nil {
			return "", "", err
		}
		if err := checkBootstrap(abs, fi); err != nil {
			return "", "", err
		}
		name = filepath.Base(abs)
		if name == "bootstrap" {
			name = filepath.Base(filepath.Dir(abs))
		}
		return abs, name, nil
	case statErr == nil && fi.IsDir():
		// Built from its own directory, so that the go.mod that holds it
		// (a nested module, say) is the one used.
		abs, err := filepath.Abs(cfg.target)
		if err != nil {
			return "", "", err
		}
		return build(ctx, cfg, abs, ".", dir, logw, filepath.Base(abs))
	case strings.HasPrefix(cfg.target, ".") || filepath.IsAbs(cfg.target):
		return "", "", fmt.Errorf("%s: no such file or directory", cfg.target)
	}
	return build(ctx, cfg, "", cfg.target, dir, logw, path.Base(cfg.target))
}

// build runs go build for pkg in dir (the current directory when "") into
// out/bootstrap, for this machine's architecture, as provided.al2023 runs
// a Go function.
func build(ctx context.Context, cfg config, dir, pkg, out string, logw io.Writer, name string) (string, string, error) {
	tags := "lambda.norpc"
	if cfg.tags != "" {
		tags += "," + cfg.tags
	}
	bootstrap := filepath.Join(out, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", tags, "-o", bootstrap, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = logw, &stderr
	shown := cfg.target
	fmt.Fprintf(logw, "mw-local: building %s (GOOS=linux GOARCH=%s CGO_ENABLED=0 go build -tags %s)\n", shown, runtime.GOARCH, tags)
	if err := cmd.Run(); err != nil {
		_, _ = logw.Write(stderr.Bytes())
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", "", fmt.Errorf("go build %s failed (its errors above)", shown)
		}
		return "", "", fmt.Errorf("go build %s: %w", shown, err)
	}
	_, _ = logw.Write(stderr.Bytes()) // warnings, if any
	return bootstrap, name, nil
}

// checkBootstrap checks that the file at path can run here, as RIE runs
// it: executable, and a Linux program for this machine's architecture or
// a script.
func checkBootstrap(path string, fi os.FileInfo) error {
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable (chmod +x it)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 2)
	if _, err := io.ReadFull(f, head); err == nil && string(head) == "#!" {
		return nil // a script: its interpreter runs here or says why not
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return fmt.Errorf("%s is not a Linux program (ELF) nor a script: build it with GOOS=linux, or give mw-local its main package", path)
	}
	want, ok := elfMachine[runtime.GOARCH]
	if ok && ef.Machine != want {
		return fmt.Errorf("%s is built for %s, and RIE runs it on this machine (%s): build it with GOARCH=%s, or give mw-local its main package", path, machineName(ef.Machine), runtime.GOARCH, runtime.GOARCH)
	}
	return nil
}

// elfMachine maps GOARCH to its ELF machine, for the architectures Lambda
// runs (x86_64 and arm64).
var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

func machineName(m elf.Machine) string {
	for arch, em := range elfMachine {
		if em == m {
			return arch
		}
	}
	return m.String()
}

// hostArch is the architecture mw-local builds for.
func hostArch() string { return runtime.GOARCH }
