package awssdk

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/lambda-mw/mw"
)

// resumeWithin bounds how long after its first page was asked for a cut
// listing may be resumed: mw.DefaultMaxStale. With mw's defaults, a tree
// assembled from pages listed within it is no staler when served than the
// last good tree mw serves while a refresh fails, and until a refresh
// lands, the tree served is older than every page listed since. A shorter
// bound would restart, before they land, the listings of environments
// that share the account's GetParametersByPath quota in a storm of cold
// starts, each progressing slowly. How long Parameter Store takes a
// NextToken is not documented: one it refuses costs one call
// (InvalidNextToken restarts the listing).
const resumeWithin = mw.DefaultMaxStale

// A listing is one path's listing in progress: the parameters of the pages
// listed so far, the NextToken of the next page, every NextToken followed
// (a repeated one is a malformed answer), and when its first page was
// asked for. Each page listed so far answered one NextToken of seen.
type listing struct {
	values map[string]string
	next   string
	seen   map[string]bool
	began  time.Time
}

// pages is how many pages p has listed.
func (p *listing) pages() int { return len(p.seen) }

// listings holds the listings cut short, by item, for the next Fetch of
// the item to resume. A listing is held by one Fetch at a time: start
// removes it, and only a cut listing is put back.
type listings struct {
	mu  sync.Mutex
	cut map[mw.Item]*listing
	// listed is when the last complete listing of each item began: a
	// listing that began before it is never resumed, so that a tree never
	// goes back to pages older than one already returned.
	listed map[mw.Item]time.Time
	// running holds the Fetches listing each item now.
	running map[mw.Item]map[*run]bool

	onHandOver func() // tests: a Fetch waits for one whose context ended
}

// A run is one Fetch's listing of an item: done is closed once it has
// returned, its listing kept if it was cut. A run whose context ended and
// that did not return within handOverWithin is waited for no more.
type run struct {
	ctx     context.Context
	done    chan struct{}
	givenUp bool // no Fetch waits for it: l.mu guards it
}

// handOverWithin bounds how long a Fetch waits for the Fetches of the same
// item whose context has ended to keep their listings. mw leaves a Fetch
// at the end of its context without waiting for it to return, and may
// start the next Fetch of the item at once; an SDK call returns as soon as
// its context ends, so the wait is short, unless a transport ignores its
// context: then the Fetch lists from the first page, and no later Fetch
// waits for that one.
const handOverWithin = time.Second

// key is the item whose listing it is: the whole item, RoleARN included,
// forced or not.
func key(it mw.Item) mw.Item {
	it.Refresh = false
	return it
}

// start registers a Fetch listing it within ctx, and returns the cut
// listing of it that the Fetch may resume at now(), if any, which it then
// holds: a concurrent Fetch of it lists from the first page. It first
// waits, up to handOverWithin, for the Fetches of it whose context has
// ended to keep what they listed. A forced refresh (it.Refresh) resumes
// nothing: it never serves a page listed before it was asked for. stop
// ends the run.
func (l *listings) start(ctx context.Context, it mw.Item, now func() time.Time) (*run, *listing) {
	k := key(it)
	r := &run{ctx: ctx, done: make(chan struct{})}
	l.mu.Lock()
	var ending []*run
	for q := range l.running[k] {
		if q.ctx.Err() != nil && !q.givenUp {
			ending = append(ending, q)
		}
	}
	if l.running == nil {
		l.running = make(map[mw.Item]map[*run]bool)
	}
	if l.running[k] == nil {
		l.running[k] = make(map[*run]bool)
	}
	l.running[k][r] = true
	l.mu.Unlock()
	if it.Refresh {
		return r, nil
	}
	if len(ending) > 0 {
		if l.onHandOver != nil {
			l.onHandOver()
		}
		l.await(ctx, ending)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.cut[k]
	delete(l.cut, k)
	if p == nil || now().Sub(p.began) > resumeWithin {
		return r, nil
	}
	return r, p
}

// await waits until the runs have returned, ctx ends, or handOverWithin
// passes: then the runs still going are waited for no more.
func (l *listings) await(ctx context.Context, runs []*run) {
	t := time.NewTimer(handOverWithin)
	defer t.Stop()
	for i, q := range runs {
		select {
		case <-q.done:
		case <-ctx.Done():
			return
		case <-t.C:
			l.mu.Lock()
			for _, q := range runs[i:] {
				q.givenUp = true
			}
			l.mu.Unlock()
			return
		}
	}
}

// stop ends the run r of it.
func (l *listings) stop(it mw.Item, r *run) {
	l.mu.Lock()
	k := key(it)
	delete(l.running[k], r)
	if len(l.running[k]) == 0 {
		delete(l.running, k)
	}
	l.mu.Unlock()
	close(r.done)
}

// keep puts back the listing p of it, cut after at least one page, unless
// a complete listing of it began after p did, or a concurrent Fetch of it
// has put back one that listed more pages. It drops what is too old to
// resume.
func (l *listings) keep(it mw.Item, p *listing, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	k := key(it)
	if p.began.Before(l.listed[k]) || now.Sub(p.began) > resumeWithin {
		return
	}
	if q := l.cut[k]; q == nil || q.pages() <= p.pages() {
		if l.cut == nil {
			l.cut = make(map[mw.Item]*listing)
		}
		l.cut[k] = p
	}
}

// done records that p, a listing of it, listed the whole tree, and drops
// the cut listing of it that began before p did: it holds nothing newer.
func (l *listings) done(it mw.Item, p *listing, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	k := key(it)
	if q := l.cut[k]; q != nil && q.began.Before(p.began) {
		delete(l.cut, k)
	}
	if p.began.After(l.listed[k]) {
		if l.listed == nil {
			l.listed = make(map[mw.Item]time.Time)
		}
		l.listed[k] = p.began
	}
}

// prune drops what no listing can use at now: cut listings too old to
// resume, and complete listings that began before any listing that may
// still be resumed. l.mu must be held.
func (l *listings) prune(now time.Time) {
	for k, q := range l.cut {
		if now.Sub(q.began) > resumeWithin {
			delete(l.cut, k)
		}
	}
	for k, began := range l.listed {
		if now.Sub(began) > resumeWithin {
			delete(l.listed, k)
		}
	}
}

// getParametersByPath lists every parameter under the item's path with
// ssm:GetParametersByPath, recursively and decrypted, page after page until
// NextToken is empty (a page may be empty and still have one).
//
// A listing cut after at least one page, by the end of ctx or by a failure
// that mw retries (throttling, a server error, a failed connection), is
// kept, and the next Fetch of the same item resumes it from its NextToken,
// within resumeWithin of its first page (waiting briefly for a Fetch of
// the item whose context has ended and that has not returned yet). A NextToken that Parameter Store
// refuses (InvalidNextToken) restarts the listing from the first page,
// once a Fetch. Any other failure drops what was listed.
func (c *clients) getParametersByPath(ctx context.Context, it mw.Item) mw.Result {
	s := c.src
	r, p := s.listings.start(ctx, it, s.now)
	defer s.listings.stop(it, r)
	if p == nil {
		p = s.newListing()
	}
	restarted := false
	for {
		out, err := c.ssm.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{
			Path:           aws.String(it.Name),
			Recursive:      aws.Bool(true),
			WithDecryption: aws.Bool(true),
			MaxResults:     aws.Int32(maxGetParameters),
			NextToken:      tokenOrNil(p.next),
		})
		if err != nil {
			se := c.callError(ctx, opGetParametersByPath, err)
			switch {
			case se.Code == "InvalidNextToken" && p.next != "" && !restarted:
				restarted, p = true, s.newListing()
				continue
			case p.pages() > 0 && (se.Retry || ctx.Err() != nil):
				s.listings.keep(it, p, s.now())
			}
			return mw.Result{Err: se}
		}
		for _, prm := range out.Parameters {
			p.values[aws.ToString(prm.Name)] = aws.ToString(prm.Value)
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			s.listings.done(it, p, s.now())
			return mw.Result{Values: p.values}
		}
		if p.seen[next] {
			return mw.Result{Err: &mw.SourceError{Class: mw.ClassMalformed,
				Err: errors.New("GetParametersByPath answered a NextToken it had already sent")}}
		}
		p.seen[next] = true
		p.next = next
	}
}

func (s *Source) newListing() *listing {
	return &listing{values: make(map[string]string), seen: make(map[string]bool), began: s.now()}
}

func tokenOrNil(t string) *string {
	if t == "" {
		return nil
	}
	return aws.String(t)
}
