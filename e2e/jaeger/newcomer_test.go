package jaeger

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// docsOTLP is the OTLP address the documentation's commands send spans to,
// Jaeger's default; the test's Jaeger listens on a free port instead.
const docsOTLP = "127.0.0.1:4318"

// TestNewcomerTrace is the last step of scripts/newcomer.sh: the function a
// newcomer wrote from the README, traced as docs/telemetry.md says, runs
// under mw-local with the command docs/running-locally.md gives, and its
// spans are read back from a real Jaeger: otellambda's span of each invoke,
// mw.resolve and mw.handler under it, one mw.fetch per declared item on the
// cold start and none on the warm invokes, every name one TELEMETRY.md
// lists, and no value anywhere.
//
// scripts/newcomer.sh sets its variables: MW_NEWCOMER_DIR, the newcomer's
// module; MW_NEWCOMER_RUN, a file holding the documentation's command
// (run there with bash, its OTLP address made this Jaeger's);
// MW_NEWCOMER_ITEMS, the items the function declares, as kind:name,
// comma-separated; MW_NEWCOMER_CANARIES, the values it is served. Without
// them it skips.
func TestNewcomerTrace(t *testing.T) {
	dir := os.Getenv("MW_NEWCOMER_DIR")
	if dir == "" {
		t.Skip("scripts/newcomer.sh runs it, with MW_NEWCOMER_DIR set to the newcomer's module")
	}
	command, err := os.ReadFile(os.Getenv("MW_NEWCOMER_RUN"))
	if err != nil {
		t.Fatalf("MW_NEWCOMER_RUN: %v", err)
	}
	items := strings.Split(os.Getenv("MW_NEWCOMER_ITEMS"), ",")
	slices.Sort(items)
	canaries := strings.Split(os.Getenv("MW_NEWCOMER_CANARIES"), ",")
	if !strings.Contains(string(command), docsOTLP) {
		t.Fatalf("the documentation's command sends no spans to %s:\n%s", docsOTLP, command)
	}
	m := regexp.MustCompile(`OTEL_SERVICE_NAME=(\S+)`).FindStringSubmatch(string(command))
	if m == nil {
		t.Fatalf("the documentation's command names no OTEL_SERVICE_NAME:\n%s", command)
	}
	service := m[1]

	j := startJaeger(t, jaegerBinary(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	since := time.Now()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", strings.ReplaceAll(string(command), docsOTLP, j.otlp))
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the documentation's command: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mw-local's standard error:\n%s", stderr.String())
		}
	})

	responses := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	ids := requestIDs(stderr.String())
	if len(responses) < 2 || len(ids) != len(responses) {
		t.Fatalf("%d responses and %d request ids (RIE's START lines), want one per invoke and a warm invoke after the cold one:\n%s", len(responses), len(ids), stdout.String())
	}
	for _, r := range responses[1:] {
		if r != responses[0] {
			t.Errorf("a warm invoke answered %s, the cold one %s", r, responses[0])
		}
	}
	want := map[string]int{ids[0]: 3 + len(items)} // the root, mw.resolve, a fetch per item, mw.handler
	for _, id := range ids[1:] {
		want[id] = 3
	}
	raw, traces := j.waitTraces(t, service, since, want)

	function := filepath.Base(dir) // mw-local names the function after its package's directory
	cold := traces[ids[0]]
	checkCold(t, cold, checkRoot(t, cold, function, ids[0]), items, parseSummary(t, stderr.String()))
	all := slices.Clone(cold)
	for _, id := range ids[1:] {
		checkWarm(t, traces[id], checkRoot(t, traces[id], function, id), len(items))
		all = append(all, traces[id]...)
	}
	checkNames(t, all)
	for _, canary := range canaries {
		if canary != "" && bytes.Contains(raw, []byte(canary)) {
			t.Errorf("Jaeger's trace JSON holds the value %q", canary)
		}
	}
	t.Logf("%d invokes of %s traced in Jaeger: %d spans on the cold start, %d on each warm invoke", len(ids), function, want[ids[0]], 3)
}
