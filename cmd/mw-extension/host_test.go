package main

import (
	"context"
	"io"
	"log"
	"strconv"
	"strings"
	"testing"
)

// A non-loopback address with no token would serve every value to the
// network: refused, with a message that says why and what to do.
func TestNonLoopbackHostNeedsToken(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		ok   bool
	}{
		{[]string{"-host", "0.0.0.0"}, nil, false},
		{[]string{"-host", "::"}, nil, false},
		{[]string{"-host", ""}, nil, false},
		{[]string{"-host", "192.0.2.1"}, nil, false},
		{[]string{"-host", "example.com"}, nil, false},
		{nil, map[string]string{"MW_EXT_HOST": "0.0.0.0"}, false},
		{[]string{"-host", "0.0.0.0", "-token", "t"}, nil, true},
		{nil, map[string]string{"MW_EXT_HOST": "0.0.0.0", "AWS_SESSION_TOKEN": "t"}, true},
		{[]string{"-host", "127.0.0.1"}, nil, true},
		{[]string{"-host", "127.0.0.2"}, nil, true},
		{[]string{"-host", "::1"}, nil, true},
		{[]string{"-host", "localhost"}, nil, true},
	} {
		_, err := parseFlags("mw-extension", tc.args, env(tc.env), io.Discard)
		switch {
		case tc.ok && err != nil:
			t.Errorf("parseFlags(%q, %v) = %v, want no error", tc.args, tc.env, err)
		case !tc.ok && err == nil:
			t.Errorf("parseFlags(%q, %v) accepted a non-loopback address with no token", tc.args, tc.env)
		case !tc.ok && !(strings.Contains(err.Error(), "not a loopback address") && strings.Contains(err.Error(), "$AWS_SESSION_TOKEN")):
			t.Errorf("parseFlags(%q, %v) = %v, want it to say the address is not loopback and how to set a token", tc.args, tc.env, err)
		}
	}
}

// A non-loopback address with a token is allowed, and says so.
func TestNonLoopbackHostWithTokenIsLogged(t *testing.T) {
	cfg, err := parseFlags("ext", []string{"-host", "0.0.0.0", "-port", strconv.Itoa(freePort(t)), "-token", "tok", "-lambda", "off"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var logs syncBuffer
	if code := run(ctx, "ext", cfg, "", "", log.New(&logs, "", 0)); code != 0 {
		t.Fatalf("run = %d; log:\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "0.0.0.0 is not a loopback address") || strings.Contains(logs.String(), "tok ") {
		t.Errorf("log:\n%s", logs.String())
	}
}
