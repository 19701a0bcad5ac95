package mwtest

import (
	"fmt"
	"net/http"
	"regexp"
	"time"
)

// Roles: what other IAM roles read. A request with roleArn (the agent
// dialect) or an item with an mw.RoleARN (Source) reads the values stored
// for its role alone, none of the function's own, as the role of another
// account would.

// PutRoleSecret stores a new SecretString version of secret id as the IAM
// role role reads it, and returns its version id, as PutSecret does. It
// makes role one the fake can take on: a request with roleArn=role (the
// agent dialect) or an item with that mw.RoleARN (Source) reads what was
// stored for the role. A role the fake was given nothing for is one it
// cannot take on: the agent dialect answers 403 AccessDeniedException, as
// the agent (AWS Workload Credentials Provider) answers when
// sts:AssumeRole fails. It panics if role is not an IAM role's ARN
// (arn:<partition>:iam::<account>:role/<name>).
func (e *Extension) PutRoleSecret(role, id, value string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.roleStore(role).putSecret(id, value, nil, time.Now())
}

// PutRoleParameter stores a new version of parameter name as the IAM role
// role reads it, and returns its number, as PutParameter does. Only Source
// reads it: the agent serves no parameters, and the managed extension
// takes on no role. It panics as PutRoleSecret does.
func (e *Extension) PutRoleParameter(role, name, typ, value string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.roleStore(role).putParameter(name, typ, value, time.Now())
}

// roleARNPattern is an IAM role's ARN, as the agent checks a roleArn.
var roleARNPattern = regexp.MustCompile(`^arn:[\w-]+:iam::\d{12}:role/[\w+=,.@/-]+$`)

// msgInvalidRole is the agent's 400 for a roleArn of another shape.
const msgInvalidRole = "invalid roleArn format, expected arn:<partition>:iam::<account>:role/<name>"

// roleStore returns the store of role, made on first use. It records the
// names it is given in the function's store's, which Stats keys by. e.mu
// must be held.
func (e *Extension) roleStore(role string) *store {
	if !roleARNPattern.MatchString(role) {
		panic(fmt.Sprintf("mwtest: %q is not an IAM role's ARN (arn:<partition>:iam::<account>:role/<name>)", role))
	}
	if e.roles == nil {
		e.roles = make(map[string]*store)
	}
	st := e.roles[role]
	if st == nil {
		s := newStore()
		s.named = e.store.named
		st = &s
		e.roles[role] = st
	}
	return st
}

// storeAs returns the store that role reads: the function's own for "",
// else the role's, or the failure of a role the fake cannot take on. e.mu
// must be held.
func (e *Extension) storeAs(role string) (*store, *failure) {
	if role == "" {
		return &e.store, nil
	}
	if st := e.roles[role]; st != nil {
		return st, nil
	}
	return nil, cannotAssume(role)
}

// cannotAssume is the agent's answer when it cannot create a client for
// role, which it does by assuming the role: 403 AccessDeniedException
// (aws_secretsmanager_provider's CacheManager.get_client).
func cannotAssume(role string) *failure {
	return &failure{code: codeAccessDenied, msg: "Failed to create caching client from role: " + role, status: http.StatusForbidden}
}
