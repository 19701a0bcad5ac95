package awssdk_test

// A path's listing is resumable: pages already listed are kept when the
// listing is cut (its context ended, or a page failed with an error that
// mw retries), and the next Fetch of the same item goes on from the
// NextToken it had reached. Calls are counted at the proxy in front of
// moto.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
	"github.com/lambda-mw/mw/internal/busy"
)

// treePages is how many GetParametersByPath calls list a tree of 55
// parameters, 10 a page: five full pages, each with a NextToken, and a
// last one of 5 without.
const treePages = 6

// seedTree puts n parameters under root, valued by their names and root so
// that no two trees share a value, and returns them.
func seedTree(b *moto.Backend, root string, n int) map[string]string {
	want := make(map[string]string, n)
	for i := range n {
		name := fmt.Sprintf("%s/d%d/p%03d", root, i%4, i)
		want[name] = "v:" + name
	}
	b.PutParameters("SecureString", want, 8)
	return want
}

// cutter is the HTTP client of a Source's Parameter Store client: it cuts
// the listing after a number of GetParametersByPath pages, by ending the
// context of the Fetch (cancel) when the next page is asked for, and
// sending nothing for it.
type cutter struct {
	mu     sync.Mutex
	after  int // pages to let through; < 0: never cut
	pages  int
	cancel context.CancelFunc
}

func (c *cutter) Do(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetParametersByPath") {
		c.mu.Lock()
		cut := c.after >= 0 && c.pages == c.after
		c.pages++
		if cut {
			c.after = -1
			c.cancel()
		}
		c.mu.Unlock()
		if cut {
			return nil, r.Context().Err()
		}
	}
	return http.DefaultClient.Do(r)
}

// cutAfter returns a context that ends when src asks for the page after
// the next k pages.
func (c *cutter) cutAfter(t *testing.T, k int) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.after, c.pages, c.cancel = k, 0, cancel
	return ctx
}

// cutSource returns a Source on b whose listings c can cut.
func cutSource(b *moto.Backend) (*awssdk.Source, *cutter) {
	c := &cutter{after: -1}
	return awssdk.New(b.Config(), awssdk.WithSSMOptions(func(o *ssm.Options) { o.HTTPClient = c })), c
}

// listPath fetches the path item it with one Fetch and returns its result
// and the GetParametersByPath calls it made, as the proxy counted them.
func listPath(ctx context.Context, b *moto.Backend, src *awssdk.Source, it mw.Item) (mw.Result, int64) {
	before := b.Calls("GetParametersByPath")
	r := src.Fetch(ctx, "GetParametersByPath", []mw.Item{it})[0]
	return r, b.Calls("GetParametersByPath") - before
}

// wantTree checks that r is the complete tree want.
func wantTree(t *testing.T, what string, r mw.Result, want map[string]string) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("%s: %v", what, r.Err)
	}
	if !maps.Equal(r.Values, want) {
		t.Fatalf("%s: got %d parameters, want the %d of the tree", what, len(r.Values), len(want))
	}
}

func wantCallsN(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %d GetParametersByPath calls, want %d", what, got, want)
	}
}

// TestListingResumesAfterItsContextEnds: a listing cut by its context after
// k pages leaves them and the NextToken to the next Fetch of the item,
// which makes the (pages - k) calls left and returns the whole tree. A
// listing that completes leaves nothing: the next one starts again.
func TestListingResumesAfterItsContextEnds(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/cut", 55)
	src, c := cutSource(b)
	for k := 1; k < treePages; k++ {
		r, n := listPath(c.cutAfter(t, k), b, src, path("/cut"))
		if r.Err == nil {
			t.Fatalf("cut after %d pages: no error", k)
		}
		wantCallsN(t, fmt.Sprintf("cut after %d pages", k), n, int64(k))
		r, n = listPath(t.Context(), b, src, path("/cut"))
		wantTree(t, fmt.Sprintf("resumed after %d pages", k), r, want)
		wantCallsN(t, fmt.Sprintf("resumed after %d pages", k), n, int64(treePages-k))
		r, n = listPath(t.Context(), b, src, path("/cut"))
		wantTree(t, "after a complete listing", r, want)
		wantCallsN(t, "after a complete listing", n, treePages)
	}

	// Cut twice: the second Fetch resumes and is cut again, the third
	// resumes where the second stopped.
	r, n := listPath(c.cutAfter(t, 2), b, src, path("/cut"))
	if r.Err == nil || n != 2 {
		t.Fatalf("first cut: %d calls, %v", n, r.Err)
	}
	r, n = listPath(c.cutAfter(t, 2), b, src, path("/cut"))
	if r.Err == nil || n != 2 {
		t.Fatalf("second cut: %d calls, %v", n, r.Err)
	}
	r, n = listPath(t.Context(), b, src, path("/cut"))
	wantTree(t, "resumed twice", r, want)
	wantCallsN(t, "resumed twice", n, treePages-4)
}

// TestListingResumesAfterThrottling: a page that fails with an error mw
// retries (throttling) keeps the pages before it; the next Fetch asks for
// that page again and goes on.
func TestListingResumesAfterThrottling(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/throttled", 55)
	src := awssdk.New(b.Config())
	b.Fail("GetParametersByPath", "", moto.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 1, After: 3})
	r, n := listPath(t.Context(), b, src, path("/throttled"))
	wantFailure(t, "the fourth page throttled", r.Err, failure{class: mw.ClassThrottled, retry: true, status: 400, code: "ThrottlingException"})
	wantCallsN(t, "the fourth page throttled", n, 4)
	r, n = listPath(t.Context(), b, src, path("/throttled"))
	wantTree(t, "resumed", r, want)
	wantCallsN(t, "resumed", n, treePages-3)
}

// TestListingDropsWhatAFinalFailureCuts: a page refused for good (access
// denied) keeps nothing: the next Fetch lists from the first page.
func TestListingDropsWhatAFinalFailureCuts(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/denied", 55)
	src, c := cutSource(b)
	listPath(c.cutAfter(t, 3), b, src, path("/denied"))
	b.Fail("GetParametersByPath", "", moto.Fault{Status: 400, Code: "AccessDeniedException",
		Message: moto.AccessDenied("ssm:GetParametersByPath").Message, Times: 1})
	r, n := listPath(t.Context(), b, src, path("/denied"))
	wantFailure(t, "denied on resuming", r.Err, failure{class: mw.ClassAccessDenied, status: 400, code: "AccessDeniedException"})
	wantCallsN(t, "denied on resuming", n, 1)
	r, n = listPath(t.Context(), b, src, path("/denied"))
	wantTree(t, "after the denial", r, want)
	wantCallsN(t, "after the denial", n, treePages)
}

// TestListingRestartsOnInvalidNextToken: a NextToken Parameter Store no
// longer takes (InvalidNextToken) restarts the listing from the first page
// at once, within the same Fetch; a second refusal in one Fetch fails it.
func TestListingRestartsOnInvalidNextToken(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/token", 55)
	src, c := cutSource(b)
	invalid := moto.Fault{Status: 400, Code: "InvalidNextToken", Message: "The specified token isn't valid."}

	listPath(c.cutAfter(t, 3), b, src, path("/token"))
	invalid.Times = 1
	b.Fail("GetParametersByPath", "", invalid)
	r, n := listPath(t.Context(), b, src, path("/token"))
	wantTree(t, "restarted", r, want)
	wantCallsN(t, "restarted", n, 1+treePages)

	listPath(c.cutAfter(t, 3), b, src, path("/token"))
	invalid.Times = 2
	b.Fail("GetParametersByPath", "", invalid)
	r, n = listPath(t.Context(), b, src, path("/token"))
	wantFailure(t, "refused twice", r.Err, failure{class: mw.ClassOther, status: 400, code: "InvalidNextToken",
		hint: []string{"first page"}})
	wantCallsN(t, "refused twice", n, 2)
	r, n = listPath(t.Context(), b, src, path("/token"))
	wantTree(t, "after the second refusal", r, want)
	wantCallsN(t, "after the second refusal", n, treePages)
}

// TestListingResumesWithinItsAge: a listing resumes within ResumeWithin of
// its first page, and lists from the first page after that.
func TestListingResumesWithinItsAge(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/age", 55)
	src, c := cutSource(b)
	now := time.Now()
	awssdk.SetClock(src, func() time.Time { return now })

	listPath(c.cutAfter(t, 3), b, src, path("/age"))
	now = now.Add(awssdk.ResumeWithin - time.Second)
	r, n := listPath(t.Context(), b, src, path("/age"))
	wantTree(t, "just within the age", r, want)
	wantCallsN(t, "just within the age", n, treePages-3)

	listPath(c.cutAfter(t, 3), b, src, path("/age"))
	now = now.Add(awssdk.ResumeWithin + time.Second)
	r, n = listPath(t.Context(), b, src, path("/age"))
	wantTree(t, "past the age", r, want)
	wantCallsN(t, "past the age", n, treePages)
}

// TestListingIsTheItemsAlone: progress belongs to the whole item. Another
// path, the same path read as another role, and a forced refresh (which
// never serves pages listed before it was asked for) list from the first
// page, and leave the cut listing to the item that made it.
func TestListingIsTheItemsAlone(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/mine", 55)
	other := seedTree(b, "/other", 55)
	src, c := cutSource(b)
	plain := path("/mine")
	asRole := plain
	asRole.RoleARN = "arn:aws:iam::" + moto.AccountID + ":role/reader"
	b.AllowAssume(asRole.RoleARN) // a role of the same account: it reads the same tree
	forced := plain
	forced.Refresh = true

	listPath(c.cutAfter(t, 3), b, src, plain)
	r, n := listPath(t.Context(), b, src, path("/other"))
	wantTree(t, "another path", r, other)
	wantCallsN(t, "another path", n, treePages)
	r, n = listPath(t.Context(), b, src, asRole)
	wantTree(t, "as another role", r, want)
	wantCallsN(t, "as another role", n, treePages)
	listPath(c.cutAfter(t, 1), b, src, forced)
	r, n = listPath(t.Context(), b, src, plain)
	wantTree(t, "the item that was cut", r, want)
	wantCallsN(t, "the item that was cut", n, treePages-3)

	// A forced listing that is cut leaves its pages to the next ordinary
	// Fetch; one that completes drops the pages listed before it.
	listPath(c.cutAfter(t, 2), b, src, forced)
	r, n = listPath(t.Context(), b, src, plain)
	wantTree(t, "after a cut forced listing", r, want)
	wantCallsN(t, "after a cut forced listing", n, treePages-2)
	listPath(c.cutAfter(t, 2), b, src, plain)
	r, n = listPath(t.Context(), b, src, forced)
	wantTree(t, "forced", r, want)
	wantCallsN(t, "forced", n, treePages)
	r, n = listPath(t.Context(), b, src, plain)
	wantTree(t, "after a complete forced listing", r, want)
	wantCallsN(t, "after a complete forced listing", n, treePages)
}

// holder is the HTTP client of a Source's Parameter Store client: a
// listing whose context carries a hold stops at the page after hold.after
// until released, and that page then fails as a connection would. A hold
// with a cancel ends the listing's context first, and then, as a
// transport slow to notice, returns only when released.
type holder struct{}

type hold struct {
	after            int
	pages            int
	cancel           context.CancelFunc // if set, ends the listing's context at the page
	reached, release chan struct{}
}

type holdKey struct{}

func (holder) Do(r *http.Request) (*http.Response, error) {
	if h, ok := r.Context().Value(holdKey{}).(*hold); ok {
		if h.pages++; h.pages > h.after {
			if h.cancel != nil {
				h.cancel()
			}
			close(h.reached)
			<-h.release
			if err := r.Context().Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("connection reset by the test")
		}
	}
	return http.DefaultClient.Do(r)
}

// TestListingNeverGoesBack: a listing cut after another listing of the
// same item began and completed is not kept (its pages are older than the
// tree already returned), and while one Fetch holds a cut listing, a
// concurrent one lists from the first page.
func TestListingNeverGoesBack(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/back", 55)
	src := awssdk.New(b.Config(), awssdk.WithSSMOptions(func(o *ssm.Options) { o.HTTPClient = holder{} }))
	var clock atomic.Int64 // a clock that never reads the same time twice
	start := time.Now()
	awssdk.SetClock(src, func() time.Time { return start.Add(time.Duration(clock.Add(1)) * time.Millisecond) })

	// listHeld starts a listing that stops at its page after k.
	listHeld := func(k int) (*hold, chan mw.Result) {
		h := &hold{after: k, reached: make(chan struct{}), release: make(chan struct{})}
		out := make(chan mw.Result, 1)
		go func() {
			out <- src.Fetch(context.WithValue(t.Context(), holdKey{}, h), "GetParametersByPath", []mw.Item{path("/back")})[0]
		}()
		<-h.reached
		return h, out
	}

	h, out := listHeld(3)
	r, n := listPath(t.Context(), b, src, path("/back")) // began later, completes
	wantTree(t, "a listing beside the held one", r, want)
	wantCallsN(t, "a listing beside the held one", n, treePages)
	close(h.release)
	if r := <-out; r.Err == nil {
		t.Fatal("the held listing did not fail")
	}
	r, n = listPath(t.Context(), b, src, path("/back"))
	wantTree(t, "after the older listing was cut", r, want)
	wantCallsN(t, "after the older listing was cut", n, treePages)

	// A cut listing is held by the Fetch that resumes it.
	h, out = listHeld(2)
	close(h.release)
	<-out
	h, out = listHeld(1) // resumes at page 3, holds at page 4
	r, n = listPath(t.Context(), b, src, path("/back"))
	wantTree(t, "beside a resumed listing", r, want)
	wantCallsN(t, "beside a resumed listing", n, treePages)
	close(h.release)
	<-out
}

// TestListingConcurrent: concurrent Fetches of two paths from one Source,
// cut at random by their deadlines and by throttling, with busy goroutines
// beside them (run with -race). Every listing that succeeds returns its own
// whole tree, and once the faults end, each path lists completely.
func TestListingConcurrent(t *testing.T) {
	b := newBackend(t)
	trees := map[string]map[string]string{"/conc-a": seedTree(b, "/conc-a", 35), "/conc-b": seedTree(b, "/conc-b", 55)}
	src := awssdk.New(b.Config())
	busy.Goroutines(t, 2*runtime.GOMAXPROCS(0))
	b.Fail("GetParametersByPath", "", moto.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 20, After: 7})

	const workers, fetches = 12, 15
	var ok, cut atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for range fetches {
				p := "/conc-a"
				if rnd.IntN(2) == 1 {
					p = "/conc-b"
				}
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rnd.IntN(120))*time.Millisecond)
				r := src.Fetch(ctx, "GetParametersByPath", []mw.Item{path(p)})[0]
				cancel()
				if r.Err != nil {
					var se *mw.SourceError
					if !errors.As(r.Err, &se) || (se.Class != mw.ClassTimeout && se.Class != mw.ClassThrottled) {
						t.Errorf("%s: %v", p, r.Err)
					}
					cut.Add(1)
					continue
				}
				if !maps.Equal(r.Values, trees[p]) {
					t.Errorf("%s: %d parameters, not its tree of %d", p, len(r.Values), len(trees[p]))
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("%d listings complete, %d cut", ok.Load(), cut.Load())
	b.Reset()
	for p, want := range trees {
		r, _ := listPath(t.Context(), b, src, path(p))
		wantTree(t, p+" after the storm", r, want)
	}
}

// TestWrapTreeLandsAcrossInvokes: a tree that takes longer to list than
// the fetch timeout allows loads over several cold invokes, each going on
// from where the last one was cut, each cut wasting at most the page it
// was waiting for.
func TestWrapTreeLandsAcrossInvokes(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/slow", 55)
	var got map[string]string
	h := wrap(b, func(ctx context.Context) error {
		var err error
		got, err = mw.ParametersByPath(ctx, "/slow")
		return err
	}, mw.WithParametersByPath("/slow"), mw.WithFetchTimeout(400*time.Millisecond))
	b.Reset()
	b.SetLatency(150 * time.Millisecond) // 6 pages: about a second
	const most = 100
	invokes := 0
	for err := errors.New("not yet"); err != nil; invokes++ {
		if invokes == most {
			t.Fatalf("the tree did not load in %d invokes (%d calls): %v", most, b.Calls("GetParametersByPath"), err)
		}
		err = invoke(h, 10*time.Second)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("got %d parameters, want %d", len(got), len(want))
	}
	calls := b.Calls("GetParametersByPath")
	t.Logf("%d invokes, %d calls", invokes, calls)
	if invokes < 2 {
		t.Errorf("the tree loaded in one invoke: the test lists nothing slowly")
	}
	if calls > int64(treePages+invokes-1) {
		t.Errorf("%d calls in %d invokes: more than the %d pages and one cut page per failed invoke", calls, invokes, treePages)
	}
}

// TestWrapTreeThrottledMidListing: mw retries a throttled page within the
// invoke, and the retry goes on from that page: one call more than the
// pages.
func TestWrapTreeThrottledMidListing(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/mid", 55)
	var got map[string]string
	h := wrap(b, func(ctx context.Context) error {
		var err error
		got, err = mw.ParametersByPath(ctx, "/mid")
		return err
	}, mw.WithParametersByPath("/mid"))
	b.Reset()
	b.Fail("GetParametersByPath", "", moto.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 1, After: 3})
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("got %d parameters, want %d", len(got), len(want))
	}
	wantCallsN(t, "throttled at the fourth page", b.Calls("GetParametersByPath"), treePages+1)
}

// TestListingHandedOverFromAnEndedFetch: mw leaves a Fetch at the end of
// its context without waiting for it to return, and the next Fetch of the
// item may start before the first has kept its pages. The next Fetch waits
// for them (briefly) rather than list from the first page.
func TestListingHandedOverFromAnEndedFetch(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/handover", 55)
	src := awssdk.New(b.Config(), awssdk.WithSSMOptions(func(o *ssm.Options) { o.HTTPClient = holder{} }))
	waiting := make(chan struct{})
	awssdk.OnHandOver(src, func() { close(waiting) })

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l := &hold{after: 3, cancel: cancel, reached: make(chan struct{}), release: make(chan struct{})}
	first := make(chan mw.Result, 1)
	go func() {
		first <- src.Fetch(context.WithValue(ctx, holdKey{}, l), "GetParametersByPath", []mw.Item{path("/handover")})[0]
	}()
	<-l.reached // its context has ended; it has not returned

	type listed struct {
		r mw.Result
		n int64
	}
	second := make(chan listed, 1)
	go func() {
		r, n := listPath(t.Context(), b, src, path("/handover"))
		second <- listed{r, n}
	}()
	var got listed
	select {
	case <-waiting:
		close(l.release)
		got = <-second
	case got = <-second:
		close(l.release)
		t.Error("the second Fetch did not wait for the first, whose context had ended, to keep its pages")
	}
	if r := <-first; r.Err == nil {
		t.Error("the first Fetch did not fail")
	}
	wantTree(t, "handed over", got.r, want)
	wantCallsN(t, "handed over", got.n, treePages-3)
}

// TestListingNotHeldByAStuckFetch: a Fetch whose transport ignores its
// ended context is waited for once, for a second, and then no more: the
// item's next Fetches list from the first page at once.
func TestListingNotHeldByAStuckFetch(t *testing.T) {
	b := newBackend(t)
	want := seedTree(b, "/stuck", 55)
	src := awssdk.New(b.Config(), awssdk.WithSSMOptions(func(o *ssm.Options) { o.HTTPClient = holder{} }))
	var waits atomic.Int32
	awssdk.OnHandOver(src, func() { waits.Add(1) })

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l := &hold{after: 3, cancel: cancel, reached: make(chan struct{}), release: make(chan struct{})}
	stuck := make(chan mw.Result, 1)
	go func() {
		stuck <- src.Fetch(context.WithValue(ctx, holdKey{}, l), "GetParametersByPath", []mw.Item{path("/stuck")})[0]
	}()
	<-l.reached
	for i := range 3 {
		r, n := listPath(t.Context(), b, src, path("/stuck"))
		wantTree(t, fmt.Sprintf("Fetch %d beside the stuck one", i+1), r, want)
		wantCallsN(t, fmt.Sprintf("Fetch %d beside the stuck one", i+1), n, treePages)
	}
	if n := waits.Load(); n != 1 {
		t.Errorf("%d Fetches waited for the stuck one, want the first alone", n)
	}
	close(l.release)
	<-stuck
}
