package openfeature

import (
	"context"

	"github.com/open-feature/go-sdk/openfeature"
)

// Name is the provider's name in its Metadata.
const Name = "mw"

// A Provider is an openfeature.FeatureProvider that reads the flags of one
// feature-flag profile declared with mw.WithAppConfig. It holds no state
// of its own: the values are in the ctx of each evaluation, so one
// Provider serves every invoke, concurrently. Make it with NewProvider.
type Provider struct {
	profile      string
	targetingKey string
}

var _ openfeature.FeatureProvider = (*Provider)(nil)

// An Option configures a Provider.
type Option func(*Provider)

// WithTargetingKey sets the context key AppConfig's rules read the
// evaluation context's targeting key by, such as "userId" for a rule
// (split pct::10 by::$userId); "targetingKey", OpenFeature's name for it,
// by default. The targeting key overrides an attribute of that name.
func WithTargetingKey(key string) Option {
	return func(p *Provider) { p.targetingKey = key }
}

// NewProvider returns a Provider of the feature-flag profile declared with
// mw.WithAppConfig by the name (or Alias) profile, such as "flags" for
// mw.WithAppConfig("shop", "prod", "flags").
func NewProvider(profile string, opts ...Option) *Provider {
	p := &Provider{profile: profile, targetingKey: openfeature.TargetingKey}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Metadata names the provider: Name.
func (p *Provider) Metadata() openfeature.Metadata {
	return openfeature.Metadata{Name: Name}
}

// Hooks returns none.
func (p *Provider) Hooks() []openfeature.Hook { return nil }

// BooleanEvaluation reads the flag's state, or a boolean attribute.
func (p *Provider) BooleanEvaluation(ctx context.Context, flag string, defaultValue bool, flatCtx openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return resolve(ctx, p, flag, defaultValue, flatCtx, kind[bool]{name: "a boolean", flag: flagState, attribute: asBool})
}

// StringEvaluation reads a multi-variant flag's variant name, or a string
// attribute.
func (p *Provider) StringEvaluation(ctx context.Context, flag string, defaultValue string, flatCtx openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	return resolve(ctx, p, flag, defaultValue, flatCtx, kind[string]{name: "a string", flag: flagVariant, attribute: asString})
}

// FloatEvaluation reads a number attribute.
func (p *Provider) FloatEvaluation(ctx context.Context, flag string, defaultValue float64, flatCtx openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	return resolve(ctx, p, flag, defaultValue, flatCtx, kind[float64]{name: "a number", attribute: asFloat})
}

// IntEvaluation reads a number attribute that is a whole number in int64's
// range.
func (p *Provider) IntEvaluation(ctx context.Context, flag string, defaultValue int64, flatCtx openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	return resolve(ctx, p, flag, defaultValue, flatCtx, kind[int64]{name: "a whole number", attribute: asInt})
}

// ObjectEvaluation reads the flag's attributes, as a map[string]any, or any
// one attribute.
func (p *Provider) ObjectEvaluation(ctx context.Context, flag string, defaultValue any, flatCtx openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	return resolve(ctx, p, flag, defaultValue, flatCtx, kind[any]{name: "an object", flag: flagAttributes, attribute: asAny})
}
