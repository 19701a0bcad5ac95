package cloudext

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/safejson"
)

// The AppConfig extension's operations (the AppConfig Cloud Extension
// SDK's model, service appconfigcloudextension).
const opGetFlag = "AppConfig.GetFlag"

// profileInput is the input both operations share: the application,
// environment and configuration profile, each a name or ID.
type profileInput struct {
	Application   string `json:"application"`
	Environment   string `json:"environment"`
	Configuration string `json:"configuration"`
}

// getConfiguration asks the AppConfig extension for a profile's latest
// deployed configuration. Its content is a blob, base64 in the JSON.
func (s *Source) getConfiguration(ctx context.Context, it mw.Item) mw.Result {
	body, _ := json.Marshal(profileInput{it.Application, it.Environment, it.Name})
	a, err := s.send(ctx, extAppConfig, s.acSigning, http.MethodPost, opGetConfiguration, "", body)
	if err != nil {
		return mw.Result{Err: err}
	}
	if a.status != http.StatusOK {
		return mw.Result{Err: s.refused(extAppConfig, it, a)}
	}
	if problem := safejson.Strict(a.body); problem != "" {
		return mw.Result{Err: malformed(extAppConfig, a.status, problem)}
	}
	var out struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		return mw.Result{Err: malformed(extAppConfig, a.status, safejson.Describe(err))}
	}
	if out.Content == nil {
		// An empty configuration is "" or no content at all.
		return mw.Result{}
	}
	v, err := base64.StdEncoding.DecodeString(*out.Content)
	if err != nil {
		return mw.Result{Err: malformed(extAppConfig, a.status, "content is not base64")}
	}
	return mw.Result{Value: string(v)}
}

// flagBody is GetFlag's output: whether the flag is enabled, the variant
// the context matched, and the attributes, each with exactly one member
// set, by its type.
type flagBody struct {
	Enabled    *bool                    `json:"enabled"`
	Variant    string                   `json:"variant"`
	Attributes map[string]flagAttribute `json:"attributes"`
}

// flagAttribute is a FlagAttributeValue. The list members' JSON names are
// not documented: stringList and numberList, as the model's camelCase
// members go on the wire, and string_list and number_list, as the Ruby
// SDK names them, are both read.
type flagAttribute struct {
	String      *string   `json:"string"`
	Number      *float64  `json:"number"`
	Boolean     *bool     `json:"boolean"`
	StringList  []string  `json:"stringList"`
	NumberList  []float64 `json:"numberList"`
	StringList2 []string  `json:"string_list"`
	NumberList2 []float64 `json:"number_list"`
}

// value is the attribute as mw.Flag types it.
func (a flagAttribute) value() (any, bool) {
	switch {
	case a.String != nil:
		return *a.String, true
	case a.Number != nil:
		return *a.Number, true
	case a.Boolean != nil:
		return *a.Boolean, true
	case a.StringList != nil:
		return a.StringList, true
	case a.NumberList != nil:
		return a.NumberList, true
	case a.StringList2 != nil:
		return a.StringList2, true
	case a.NumberList2 != nil:
		return a.NumberList2, true
	}
	return nil, false
}

// EvaluateFlag evaluates the feature flag flag of the AppConfig profile it
// (a mw.KindAppConfig item: application, environment, profile) against
// evalCtx with the AppConfig extension's GetFlag: the extension checks the
// flag's variants in order and returns the first whose rule matches the
// context, else the default variant. It is one request to the runtime on
// loopback each call, answered from the extension's cache, with no call to
// AWS AppConfig once the profile is cached; it is not cached by mw.
//
// The Flag's Variant is the variant's name ("" for a flag without
// variants), its Attributes typed as mw.Flag documents. A failure is a
// *mw.SourceError, classified as Fetch's are; a flag the profile does not
// have is ClassNotFound and wraps mw.ErrUnknownFlag. Neither holds a
// value of the context or of the flag.
func (s *Source) EvaluateFlag(ctx context.Context, it mw.Item, flag string, evalCtx map[string]string) (mw.Flag, error) {
	if it.Kind != mw.KindAppConfig {
		return mw.Flag{}, &mw.SourceError{Class: mw.ClassConfig, Err: fmt.Errorf("cloudext: %v: flags are read from AppConfig profiles", it)}
	}
	if err := checkProfile(it); err != nil {
		return mw.Flag{}, &mw.SourceError{Class: mw.ClassConfig, Err: err}
	}
	if flag == "" {
		return mw.Flag{}, &mw.SourceError{Class: mw.ClassConfig, Err: fmt.Errorf("cloudext: %v: no flag key", it)}
	}
	body, _ := json.Marshal(struct {
		profileInput
		Flag    string            `json:"flag"`
		Context map[string]string `json:"context,omitempty"`
	}{profileInput{it.Application, it.Environment, it.Name}, flag, evalCtx})
	a, err := s.send(ctx, extAppConfig, s.acSigning, http.MethodPost, opGetFlag, "", body)
	if err != nil {
		return mw.Flag{}, err
	}
	if a.status != http.StatusOK {
		se := s.refused(extAppConfig, it, a)
		if se.Class == mw.ClassNotFound && flagNotFound(a) {
			se.Err = errors.Join(se.Err, mw.ErrUnknownFlag)
		}
		return mw.Flag{}, se
	}
	if problem := safejson.Strict(a.body); problem != "" {
		return mw.Flag{}, malformed(extAppConfig, a.status, problem)
	}
	var out flagBody
	if err := json.Unmarshal(a.body, &out); err != nil {
		return mw.Flag{}, malformed(extAppConfig, a.status, safejson.Describe(err))
	}
	if out.Enabled == nil {
		return mw.Flag{}, malformed(extAppConfig, a.status, `the answer has no boolean "enabled"`)
	}
	f := mw.Flag{Enabled: *out.Enabled, Variant: out.Variant}
	for k, attr := range out.Attributes {
		v, ok := attr.value()
		if !ok {
			return mw.Flag{}, malformed(extAppConfig, a.status, "an attribute has no value of a documented type")
		}
		if f.Attributes == nil {
			f.Attributes = make(map[string]any, len(out.Attributes))
		}
		f.Attributes[k] = v
	}
	return f, nil
}

// flagNotFound reports whether an error answer is GetFlag's FLAG_NOT_FOUND.
func flagNotFound(a *answer) bool {
	var b errorBody
	if json.Unmarshal(a.body, &b) != nil {
		return false
	}
	for _, e := range b.Errors {
		if semanticProblem(e) == "FLAG_NOT_FOUND" {
			return true
		}
	}
	return false
}
