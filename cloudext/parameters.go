package cloudext

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/awsname"
	"github.com/lambda-mw/mw/internal/safejson"
)

// parametersBody is GetParameters' output in the AWS JSON 1.1 protocol, as
// Parameter Store answers it: only the fields the Source reads.
type parametersBody struct {
	Parameters        []parameterEntry `json:"Parameters"`
	InvalidParameters []string         `json:"InvalidParameters"`
}

// parameterEntry is one parameter of GetParameters' output.
type parameterEntry struct {
	Name     *string `json:"Name"`
	ARN      *string `json:"ARN"`
	Value    *string `json:"Value"`
	Version  *int64  `json:"Version"`
	Selector *string `json:"Selector"`
}

// getParameters fetches parameters with GetParameters: each distinct name
// (with its selector) once, up to 10 a request, the requests concurrently.
// No two requests for one parameter (at two versions, or by name and by
// ARN) share a request: the answer names a parameter without saying which
// of them it answers.
func (s *Source) getParameters(ctx context.Context, items []mw.Item, res []mw.Result) {
	var names []string
	byName := map[string][]int{}
	for i, it := range items {
		n := awsname.ParameterRequest(it.Name, it.Version, it.Label)
		if _, ok := byName[n]; !ok {
			names = append(names, n)
		}
		byName[n] = append(byName[n], i)
	}
	// Each name is in one call, and each item under one name: the calls
	// write results apart, with no lock.
	var wg sync.WaitGroup
	for _, call := range awsname.Batches(names, maxGetParameters) {
		wg.Go(func() {
			for n, r := range s.getParametersCall(ctx, call, items[byName[call[0]][0]]) {
				for _, i := range byName[n] {
					res[i] = r
				}
			}
		})
	}
	wg.Wait()
}

// getParametersCall makes one GetParameters request for names, whose keys
// are distinct, and returns a Result for each name. first is an item of
// the call, for the hints of a failure of the whole request.
func (s *Source) getParametersCall(ctx context.Context, names []string, first mw.Item) map[string]mw.Result {
	body, _ := json.Marshal(struct {
		Names          []string
		WithDecryption bool
	}{names, true})
	out, err := s.readParameters(ctx, body, first)
	if err != nil {
		got := make(map[string]mw.Result, len(names))
		for _, n := range names {
			got[n] = mw.Result{Err: err}
		}
		return got
	}
	return answered(names, out)
}

// readParameters sends a GetParameters request and reads its answer.
func (s *Source) readParameters(ctx context.Context, body []byte, first mw.Item) (*parametersBody, error) {
	a, err := s.send(ctx, extParameterStore, signingParameterStore, http.MethodPost, opGetParameters, "", body)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, s.refused(extParameterStore, first, a)
	}
	if problem := safejson.Strict(a.body); problem != "" {
		return nil, malformed(extParameterStore, a.status, problem)
	}
	var out parametersBody
	if err := json.Unmarshal(a.body, &out); err != nil {
		return nil, malformed(extParameterStore, a.status, safejson.Describe(err))
	}
	return &out, nil
}

// answered gives each of names, whose keys are distinct, the Result out
// gives it: the value of the entry that answers it, not found where
// InvalidParameters lists it, else malformed.
func answered(names []string, out *parametersBody) map[string]mw.Result {
	got := make(map[string]mw.Result, len(names))
	for _, p := range out.Parameters {
		// Its Name and its ARN, each when present, name the request it
		// answers: an answer that names two, or none, is served for none.
		n, ok := awsname.ParameterAnswered(names, p.Name, p.ARN, awsname.AnswersParameter)
		if _, dup := got[n]; !ok || dup {
			continue
		}
		if r, ok := entryResult(n, p); ok {
			got[n] = r
		}
	}
	// Keys are distinct in a request: the key of an entry of
	// InvalidParameters names the request.
	invalid := make(map[string]bool, len(out.InvalidParameters))
	for _, inv := range out.InvalidParameters {
		invalid[awsname.ParameterKey(inv)] = true
	}
	for _, n := range names {
		if _, has := got[n]; !has && invalid[awsname.ParameterKey(n)] {
			got[n] = mw.Result{Err: notFoundParameter(n)}
		}
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			got[n] = mw.Result{Err: malformed(extParameterStore, http.StatusOK, "GetParameters answered without this parameter: neither a value nor InvalidParameters")}
		}
	}
	return got
}

// entryResult is the Result of request n that entry p answers, and
// false when p says nothing of n: an entry with no Value, but a binary
// secret's.
func entryResult(n string, p parameterEntry) (mw.Result, bool) {
	switch {
	case p.Value == nil && strings.HasPrefix(n, awsname.ReferencePrefix):
		return mw.Result{Err: binaryReference(n)}, true
	case p.Value == nil:
		return mw.Result{}, false
	case !sameVersion(n, p.Version, p.Selector):
		return mw.Result{Err: mismatch(extParameterStore, "version of the parameter")}, true
	}
	return mw.Result{Value: *p.Value}, true
}

// sameVersion reports whether an answer's Version and Selector, each when
// present, are those the request n pinned with its selector: :3 is
// version 3 and selector :3, :label selector :label.
func sameVersion(n string, version *int64, selector *string) bool {
	_, sel, pinned := awsname.CutSelector(n)
	if !pinned {
		return true // the latest version: any
	}
	if selector != nil && *selector != ":"+sel {
		return false
	}
	if v, err := strconv.ParseInt(sel, 10, 64); err == nil && version != nil && *version != v {
		return false
	}
	return true
}

// notFoundParameter is the error of a name GetParameters listed in
// InvalidParameters: "a name that doesn't exist, or whose version or
// label doesn't exist"; for a secret read through Parameter Store, a
// secret or a stage. The code is the one GetParameter answers it with.
func notFoundParameter(name string) *mw.SourceError {
	return &mw.SourceError{Class: mw.ClassNotFound, Status: http.StatusOK, Code: "ParameterNotFound",
		Err:  errors.New("GetParameters listed it in InvalidParameters"),
		Hint: notFoundHint(extParameterStore, mw.Item{Kind: mw.KindParameter, Name: name}, refusal{})}
}

// binaryReference is the error of a secret read through Parameter Store
// (ref) whose answer has no Value: a binary secret, whose bytes AWS
// documents no way to read through Parameter Store. It says how to read
// them instead.
func binaryReference(ref string) error {
	return &mw.SourceError{Class: mw.ClassMalformed, Status: http.StatusOK,
		Err:  errors.New("the answer is for a binary secret: Parameter Store answers it with no Value"),
		Hint: awsname.BinaryReferenceFix(ref) + ": the Secrets Manager extension sends a binary secret's bytes"}
}
