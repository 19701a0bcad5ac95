package awssdk_test

// The conformance suite of mw.Source (mwtest.TestSource, issue 14) runs here
// against moto, once it exists: a TestConformance that seeds newBackend(t)
// (whose PutParameter, LabelParameter, PutSecret, PutSecretBinary,
// StageSecret, Deny and DenyDecrypt are mwtest.Extension's data methods) and
// gives awssdk.New(b.Config()) to the suite. What the suite cannot know,
// the SDK source's batches, pages, per-item failures and calls counted at
// the proxy, is tested in the other files of this package and, for spans and
// metrics, in ./test.
