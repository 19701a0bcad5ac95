package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The function's output, and RIE's log. RIE hands the runtime its own
// standard output, so the function writes straight into the pipe mw-local
// gives RIE, beside RIE's START, END and REPORT lines; RIE logs to the
// other pipe. mw-local keeps each pipe's write end too: a mark it writes
// after an invoke's answer comes after everything written before RIE
// answered, which tells the reader when it has all of an invoke's lines,
// without waiting on a clock.

// keepLines bounds the lines kept for a report.
const keepLines = 200

// stream reads a pipe line by line, handing each line to onLine, and
// passes marks.
type stream struct {
	r, w   *os.File // the pipe; the writer gets w
	onLine func(string)
	nonce  string // starts every mark
	marks  chan string
	done   chan struct{}
	mu     sync.Mutex
	n      int // marks written
}

func newStream(onLine func(string)) (*stream, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := &stream{r: r, w: w, onLine: onLine, nonce: "\x00mw-local-mark-" + hex.EncodeToString(b) + "-", marks: make(chan string, 16), done: make(chan struct{})}
	go s.read()
	return s, nil
}

func (s *stream) read() {
	defer close(s.done)
	br := bufio.NewReader(s.r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			s.line(strings.TrimSuffix(line, "\n"))
		}
		if err != nil {
			return
		}
	}
}

// line handles one line: a mark (perhaps after text with no newline of its
// own), or a line of text.
func (s *stream) line(line string) {
	text, tag, marked := strings.Cut(line, s.nonce)
	if text != "" || !marked {
		s.onLine(text)
	}
	if marked {
		select {
		case s.marks <- tag:
		default: // a mark nobody waits for any more
		}
	}
}

// mark waits until the reader has passed everything written so far. It
// gives up after a while if the reader is stuck (a line that never ends).
func (s *stream) mark() {
	s.mu.Lock()
	s.n++
	tag := strconv.Itoa(s.n)
	s.mu.Unlock()
	if _, err := io.WriteString(s.w, s.nonce+tag+"\n"); err != nil {
		return
	}
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case got := <-s.marks:
			if got == tag {
				return
			}
		case <-timeout.C:
			return
		case <-s.done:
			return
		}
	}
}

// close closes mw-local's end of the pipe and waits a little for the
// reader to finish (a process left running may hold the other end).
func (s *stream) close() {
	_ = s.w.Close()
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
	}
	_ = s.r.Close()
}

// output is RIE's standard output: copied to dst, the lines since the last
// take kept.
type output struct {
	*stream
	dst   io.Writer
	mu    sync.Mutex
	lines []string
}

func newOutput(dst io.Writer) (*output, error) {
	o := &output{dst: dst}
	s, err := newStream(o.add)
	o.stream = s
	return o, err
}

func (o *output) add(line string) {
	fmt.Fprintln(o.dst, line)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lines = append(o.lines, line)
	if len(o.lines) > keepLines {
		o.lines = o.lines[len(o.lines)-keepLines:]
	}
}

// take returns the lines read since the last take; mark first.
func (o *output) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := o.lines
	o.lines = nil
	return lines
}

// rieLog is RIE's own log (its standard error): printed when verbose, its
// last lines kept, and what says why an INIT or an invoke failed.
type rieLog struct {
	*stream
	dst     io.Writer
	verbose bool

	mu      sync.Mutex
	tail    []string // the last lines
	failure string   // the last "... failed error=<why>" reason
}

func newRIELog(dst io.Writer, verbose bool) (*rieLog, error) {
	l := &rieLog{dst: dst, verbose: verbose}
	s, err := newStream(l.add)
	l.stream = s
	return l, err
}

func (l *rieLog) add(line string) {
	if l.verbose {
		fmt.Fprintln(l.dst, line)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail = append(l.tail, line)
	if len(l.tail) > keepLines {
		l.tail = l.tail[len(l.tail)-keepLines:]
	}
	if why := failureIn(line); why != "" {
		l.failure = why
	}
}

// failureIn returns why RIE says an INIT or an invoke failed, from a line
// such as
//
//	... [ERROR] (rapid) Init failed error=Runtime exited with error: exit status 3 InvokeID=
//
// or "" for another line.
func failureIn(line string) string {
	_, why, ok := strings.Cut(line, "error=")
	if !ok || !strings.Contains(line, " failed ") {
		return ""
	}
	if i := strings.Index(why, " InvokeID="); i >= 0 {
		why = why[:i]
	}
	return strings.TrimSpace(why)
}

// lastFailure returns the last failure RIE logged, and forgets it.
func (l *rieLog) lastFailure() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	why := l.failure
	l.failure = ""
	return why
}

// lastLines returns RIE's last n log lines.
func (l *rieLog) lastLines(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tail[max(len(l.tail)-n, 0):]...)
}
