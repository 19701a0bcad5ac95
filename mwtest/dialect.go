package mwtest

import (
	"fmt"
	"strconv"
)

// Dialect selects which local secrets server an Extension imitates.
type Dialect int

const (
	// Managed is the AWS Parameters and Secrets Lambda Extension, the
	// closed-source layer: Parameter Store and Secrets Manager, every error
	// a 400 with a generic text body.
	Managed Dialect = iota
	// Agent is the open-source aws-secretsmanager-agent: Secrets Manager
	// only, AWS errors passed on as JSON with their status.
	Agent
)

// String returns "managed" or "agent".
func (d Dialect) String() string {
	switch d {
	case Managed:
		return "managed"
	case Agent:
		return "agent"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// ParseDialect is the inverse of Dialect.String.
func ParseDialect(s string) (Dialect, error) {
	switch s {
	case "managed":
		return Managed, nil
	case "agent":
		return Agent, nil
	}
	return 0, fmt.Errorf("mwtest: unknown dialect %q (want managed or agent)", s)
}
