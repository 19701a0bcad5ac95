package awsname

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	paramARN  = "arn:aws:ssm:us-east-1:123456789012:parameter/app/db"
	secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
)

func TestService(t *testing.T) {
	for s, want := range map[string]string{
		paramARN:                              "ssm",
		secretARN:                             "secretsmanager",
		"arn:aws-cn:iam::123456789012:role/r": "iam",
		"/app/db":                             "",
		"app:db":                              "",
		"arn:":                                "",
	} {
		if got := Service(s); got != want {
			t.Errorf("Service(%q) = %q; want %q", s, got, want)
		}
	}
}

func TestIsRole(t *testing.T) {
	for arn, want := range map[string]bool{
		"arn:aws:iam::123456789012:role/reader":          true,
		"arn:aws-us-gov:iam::123456789012:role/a/b/name": true,
		"arn:aws:iam::123456789012:role/":                false,
		"arn:aws:iam::123456789012:role/a/":              false,
		"arn:aws:iam::123456789012:user/reader":          false,
		"arn:aws:iam:us-east-1:123456789012:role/reader": false,
		"arn:aws:iam::12345678901:role/reader":           false,
		"arn:aws:iam::12345678901x:role/reader":          false,
		"arn::iam::123456789012:role/reader":             false,
		"arn:aws:sts::123456789012:role/reader":          false,
		"reader":                                         false,
	} {
		if got := IsRole(arn); got != want {
			t.Errorf("IsRole(%q) = %v; want %v", arn, got, want)
		}
	}
}

func TestSelectors(t *testing.T) {
	for _, c := range []struct{ name, cut string }{
		{"/app/db", "/app/db"},
		{"/app/db:3", "/app/db"},
		{"app/db:live", "app/db"},
		{"db", "db"},
		{"/a:b/c", "/a:b/c"}, // no selector: a ':' before the last '/'
		{paramARN, paramARN},
		{paramARN + ":7", paramARN},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/db", "arn:aws:ssm:us-east-1:123456789012:parameter/db"},
		{secretARN, secretARN},
		{ReferencePrefix + "db", ReferencePrefix + "db"},
		{ReferencePrefix + "db:AWSPREVIOUS", ReferencePrefix + "db"},
		{ReferencePrefix + "prod/db:AWSPREVIOUS", ReferencePrefix + "prod/db"},
		// A secret read by its ARN, its name with no '/': the ARN's fixed
		// fields are no selector.
		{ReferencePrefix + secretARN, ReferencePrefix + secretARN},
		{ReferencePrefix + secretARN + ":AWSPENDING", ReferencePrefix + secretARN},
		{"arn:aws:s3:::bucket:x", "arn:aws:s3:::bucket:x"},
		// An SSM ARN of something else than a parameter has no selector.
		{"arn:aws:ssm:us-east-1:123456789012:document/d:3", "arn:aws:ssm:us-east-1:123456789012:document/d:3"},
	} {
		got, sel, found := CutSelector(c.name)
		if got != c.cut || found != (c.cut != c.name) || found && got+":"+sel != c.name || !found && sel != "" {
			t.Errorf("CutSelector(%q) = %q, %q, %v; want %q and the selector it cut", c.name, got, sel, found, c.cut)
		}
		if got, want := HasSelector(c.name), c.cut != c.name; got != want {
			t.Errorf("HasSelector(%q) = %v; want %v", c.name, got, want)
		}
	}
}

func TestParameterRequest(t *testing.T) {
	for _, c := range []struct {
		name    string
		version int64
		label   string
		want    string
	}{
		{"/a", 0, "", "/a"},
		{"/a", 12, "", "/a:12"},
		{"/a", 0, "live", "/a:live"},
		{paramARN, 3, "", paramARN + ":3"},
	} {
		if got := ParameterRequest(c.name, c.version, c.label); got != c.want {
			t.Errorf("ParameterRequest(%q, %d, %q) = %q; want %q", c.name, c.version, c.label, got, c.want)
		}
	}
}

func TestParameterKey(t *testing.T) {
	for s, want := range map[string]string{
		"/app/db":                          "app/db",
		"app/db:3":                         "app/db",
		"/app/db:live":                     "app/db",
		paramARN:                           "app/db",
		paramARN + ":2":                    "app/db",
		ReferencePrefix + "db:AWSPREVIOUS": "aws/reference/secretsmanager/db",
		ReferencePrefix + secretARN:        "aws/reference/secretsmanager/" + secretARN,
	} {
		if got := ParameterKey(s); got != want {
			t.Errorf("ParameterKey(%q) = %q; want %q", s, got, want)
		}
	}
}

// Requests for one parameter never share a call, nor does a reference to a
// secret; the rest fill calls of size, in order.
func TestBatches(t *testing.T) {
	names := []string{"/a", "/a:2", "/b", "/c", paramARN, "/d", "app/db:live", "/e"}
	got := Batches(names, 3)
	want := [][]string{{"/a", "/b", "/c"}, {"/a:2", paramARN, "/d"}, {"app/db:live", "/e"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Batches = %q; want %q", got, want)
	}
	for _, call := range got {
		seen := map[string]bool{}
		for _, n := range call {
			if k := ParameterKey(n); seen[k] {
				t.Errorf("two requests for %q share a call: %q", k, call)
			} else {
				seen[k] = true
			}
		}
	}
	refs := Batches([]string{"/a", ReferencePrefix + "s", "/b", ReferencePrefix + "t"}, 10)
	if want := [][]string{{"/a", "/b"}, {ReferencePrefix + "s"}, {ReferencePrefix + "t"}}; !slices.EqualFunc(refs, want, slices.Equal) {
		t.Errorf("Batches with references = %q; want each reference alone: %q", refs, want)
	}
	if got := Batches(nil, 10); got != nil {
		t.Errorf("Batches(nil) = %q; want none", got)
	}
}

// An answer names the secret asked for by its name, its full ARN, or the
// ARN a partial ARN asked for stands for; never another secret.
func TestAnswersSecret(t *testing.T) {
	const (
		full    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
		partial = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"
		other   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/dbx-AbCdEf"
	)
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		asked     string
		name, arn *string
		want      bool
	}{
		{"prod/db", s("prod/db"), s(full), true},
		{"prod/db", nil, s(full), true},
		{"prod/db", s("prod/db"), nil, true},
		{full, s("prod/db"), s(full), true},
		{partial, s("prod/db"), s(full), true},
		{partial, nil, s(full), true},
		{"prod/db", s("prod/dbx"), s(full), false},
		{"prod/db", s("prod/db"), s(other), false},
		{"prod/db", nil, s(other), false},
		{full, nil, s(other), false},
		{partial, s("prod/dbx"), nil, false},
		{"prod/db", nil, nil, true},
	} {
		if got := AnswersSecret(c.asked, c.name, c.arn); got != c.want {
			n, a := "<nil>", "<nil>"
			if c.name != nil {
				n = *c.name
			}
			if c.arn != nil {
				a = *c.arn
			}
			t.Errorf("AnswersSecret(%q, %q, %q) = %v; want %v", c.asked, n, a, got, c.want)
		}
	}
}

func TestAnswersParameter(t *testing.T) {
	const (
		ref      = ReferencePrefix + "prod/db"
		smARN    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
		otherARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/dbx-AbCdEf"
		motoARN  = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db"
	)
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		asked     string
		name, arn *string
		want      bool
	}{
		{"/app/db", s("/app/db"), s(paramARN), true},
		{"/app/db:3", s("/app/db"), s(paramARN), true},
		{"/app/db:live", nil, s(paramARN), true},
		{paramARN, s("/app/db"), s(paramARN), true},
		{paramARN + ":3", s("/app/db"), nil, true},
		{"app/db", s("app/db"), s(paramARN), true},
		{"/app/db", s("/app/dbx"), s(paramARN), false},
		{"/app/db", s("/app/db"), s(paramARN + "x"), false},
		{"/app/db", s("app/db"), nil, false},
		{"/app/db", s("prod/db"), s(motoARN), false},
		// At the root, a parameter is one with or without its '/'.
		{"/db", s("db"), s("arn:aws:ssm:us-east-1:123456789012:parameter/db"), true},
		{"db", s("/db"), nil, true},
		{"/db", s("dbx"), nil, false},
		// A secret read through Parameter Store: AWS's shape, by the
		// secret's ARN, with a stage; moto's shape (the secret's name and an
		// SSM ARN of it) to AnswersParameterOrMoto only.
		{ref, s(ref), s(smARN), true},
		{ref + ":AWSPREVIOUS", s(ref), s(smARN), true},
		{ReferencePrefix + smARN, s(ReferencePrefix + smARN), s(smARN), true},
		{ref, s(ref), s(otherARN), false},
		{ref, s("prod/dbx"), s("arn:aws:ssm:us-east-1:123456789012:parameter/prod/dbx"), false},
		{ref, s(ReferencePrefix + "prod/dbx"), nil, false},
		{ref, s("prod/db"), s("arn:aws:ssm:us-east-1:123456789012:parameter/prod/dbx"), false},
		{ref, s("prod/db"), s(motoARN), false},
		{ReferencePrefix + "db", s("db"), s("arn:aws:ssm:us-east-1:123456789012:parameter/db"), false}, // the parameter db's answer
	} {
		if got := AnswersParameter(c.asked, c.name, c.arn); got != c.want {
			t.Errorf("AnswersParameter(%q, %s, %s) = %v; want %v", c.asked, quoted(c.name), quoted(c.arn), got, c.want)
		}
	}
	for _, c := range []struct {
		asked     string
		name, arn *string
	}{
		{ref, s("prod/db"), s(motoARN)},
		{ReferencePrefix + smARN, s("prod/db"), s(motoARN)},
		{ReferencePrefix + "/prod/db", s("/prod/db"), s(motoARN)},
		{ref, s(ref), s(smARN)},
	} {
		if !AnswersParameterOrMoto(c.asked, c.name, c.arn) {
			t.Errorf("AnswersParameterOrMoto(%q, %s, %s) = false; want true", c.asked, quoted(c.name), quoted(c.arn))
		}
	}
}

func TestParameterAnswered(t *testing.T) {
	s := func(v string) *string { return &v }
	names := []string{"/a", "/b:3", ReferencePrefix + "b", "c", "/x/y"}
	for _, c := range []struct {
		name, arn *string
		want      string
	}{
		{s("/a"), nil, "/a"},
		{s("a"), nil, "/a"}, // at the root, with or without its '/'
		{s("/c"), s("arn:aws:ssm:us-east-1:123456789012:parameter/c"), "c"},
		{s("/b"), s("arn:aws:ssm:us-east-1:123456789012:parameter/b"), "/b:3"},
		{nil, s("arn:aws:ssm:us-east-1:123456789012:parameter/a"), "/a"},
		{s(ReferencePrefix + "b"), nil, ReferencePrefix + "b"},
		{s("x/y"), nil, ""}, // below the root, the '/' is part of the name
		{s("/d"), nil, ""},
		{nil, nil, ""},
	} {
		got, ok := ParameterAnswered(names, c.name, c.arn, AnswersParameter)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("ParameterAnswered(%s, %s) = %q, %v; want %q", quoted(c.name), quoted(c.arn), got, ok, c.want)
		}
	}
	// Two requests an answer may both be for: it is served for neither.
	if got, ok := ParameterAnswered([]string{"/a", "a"}, s("a"), nil, AnswersParameter); ok {
		t.Errorf("ParameterAnswered(/a and a, a) = %q; want neither", got)
	}
}

// quoted is *s quoted, or <nil>.
func quoted(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return strconv.Quote(*s)
}

func TestParameterProblem(t *testing.T) {
	type q struct {
		name                    string
		version                 int64
		label, versionID, stage string
	}
	for _, c := range []struct {
		q    q
		says string // a part of the problem; "" for none
	}{
		{q{name: "/app/db"}, ""},
		{q{name: paramARN, version: 3}, ""},
		{q{name: ReferencePrefix + "db:AWSPREVIOUS"}, ""},
		{q{name: ""}, "no name"},
		{q{name: secretARN}, "mw.WithSecrets"},
		{q{name: "arn:aws:s3:::bucket/key"}, "not an SSM parameter ARN"},
		{q{name: "arn:aws:ssm:us-east-1:123456789012:document/d"}, "not a parameter's"},
		{q{name: "/a", stage: "AWSCURRENT"}, "the label is its stage"},
		{q{name: "/a", versionID: "v"}, "no version id"},
		{q{name: "/a", version: -1}, "start at 1"},
		{q{name: ReferencePrefix + "db", version: 2}, "version stage, as a label"},
		{q{name: ReferencePrefix + "db", label: "AWSPREVIOUS"}, ""},
		{q{name: "/a", version: 2, label: "live"}, "one selector"},
		{q{name: "/a:3", label: "live"}, "already ends in a selector"},
		{q{name: "/a", label: "a:b"}, "cannot hold ':'"},
	} {
		got := ParameterProblem(c.q.name, c.q.version, c.q.label, c.q.versionID, c.q.stage)
		if (c.says == "") != (got == "") || !strings.Contains(got, c.says) {
			t.Errorf("ParameterProblem(%+v) = %q; want one saying %q", c.q, got, c.says)
		}
	}
}

func TestSecretProblem(t *testing.T) {
	for _, c := range []struct {
		name    string
		version int64
		label   string
		says    string // a part of the problem; "" for none
	}{
		{"prod/db", 0, "", ""},
		{secretARN, 0, "", ""},
		{"", 0, "", "no name"},
		{paramARN, 0, "", "mw.WithParameters"},
		{"arn:aws:kms:us-east-1:123456789012:key/k", 0, "", "not a Secrets Manager ARN"},
		{ReferencePrefix + "prod/db", 0, "", `secret "prod/db"`},
		{"prod/db", 2, "", "version id or a version stage"},
		{"prod/db", 0, "live", "version id or a version stage"},
	} {
		got := SecretProblem(c.name, c.version, c.label)
		if (c.says == "") != (got == "") || !strings.Contains(got, c.says) {
			t.Errorf("SecretProblem(%q, %d, %q) = %q; want one saying %q", c.name, c.version, c.label, got, c.says)
		}
	}
}

func TestKMSRefusal(t *testing.T) {
	for msg, want := range map[string]bool{
		"The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.": true,
		"Access to KMS is not allowed": true,
		"Secrets Manager can't decrypt the protected secret text using the provided KMS key.":                                                                true,
		"You can't access a secret from a different AWS account if you encrypt the secret with the default KMS service key.":                                 true,
		"User: arn:aws:sts::123456789012:assumed-role/fn/fn is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:123456789012:key/k": true,
		"the key arn:aws:kms:us-east-1:123456789012:key/k is disabled":                                                                                       true,
		"ends in KMS":             true,
		"KMS refused the request": true,
		// Denials of the service, quoting names that hold "KMS" or "kms".
		"User: arn:aws:sts::123456789012:assumed-role/KMS-reader/fn is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter/app/KMS_KEY_ID because no identity-based policy allows the ssm:GetParameters action": false,
		"User: arn:aws:sts::123456789012:assumed-role/fn/fn is not authorized to perform: secretsmanager:GetSecretValue on resource: kms/ciphertext-key":                                                                                                           false,
		"User: arn:aws:sts::123456789012:assumed-role/fn/fn is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter/KMS":                                                                                         false,
		"is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter/kms":                                                                                                                                             false,
		"": false,
	} {
		if got := KMSRefusal(msg); got != want {
			t.Errorf("KMSRefusal(%q) = %v; want %v", msg, got, want)
		}
	}
}
