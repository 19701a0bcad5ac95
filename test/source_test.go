package test

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/lambda-mw/mw"
)

// mapSource is a Source of parameters over a map, as a third party would
// write one: it fetches up to 10 parameters a call, lists paths, and
// throttles the first request for each name in throttleOnce.
type mapSource struct {
	values map[string]string

	mu           sync.Mutex
	throttleOnce map[string]bool
	calls        int
}

var _ mw.Source = (*mapSource)(nil)

func (s *mapSource) Name() string { return "map" }

func (s *mapSource) Plan(it mw.Item) (mw.Plan, error) {
	switch it.Kind {
	case mw.KindParameter:
		return mw.Plan{Op: "GetParameters", Batch: 10}, nil
	case mw.KindParametersByPath:
		return mw.Plan{Op: "GetParametersByPath", Batch: 1}, nil
	}
	return mw.Plan{}, fmt.Errorf("%s: %w", it, mw.ErrNotServed)
}

func (s *mapSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	out := make([]mw.Result, len(items))
	for i, it := range items {
		switch {
		case s.throttleOnce[it.Name]:
			delete(s.throttleOnce, it.Name)
			out[i].Err = &mw.SourceError{Class: mw.ClassThrottled, Retry: true, Status: 400, Code: "ThrottlingException"}
		case it.Kind == mw.KindParametersByPath:
			out[i].Values = map[string]string{}
			for name, v := range s.values {
				if strings.HasPrefix(name, strings.TrimSuffix(it.Name, "/")+"/") {
					out[i].Values[name] = v
				}
			}
		default:
			v, ok := s.values[it.Name]
			if !ok {
				out[i].Err = &mw.SourceError{Class: mw.ClassNotFound, Status: 400, Code: "ParameterNotFound"}
				continue
			}
			out[i].Value = v
		}
	}
	return out
}
