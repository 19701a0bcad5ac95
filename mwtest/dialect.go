package mwtest

import (
	"fmt"
	"strconv"
)

// Dialect selects which local server an Extension imitates: one of the two
// secrets servers, or the AppConfig extension.
type Dialect int

const (
	// Managed is the AWS Parameters and Secrets Lambda Extension, the
	// closed-source layer: Parameter Store and Secrets Manager, every error
	// a 400 with a generic text body.
	Managed Dialect = iota
	// Agent is the open-source aws-secretsmanager-agent: Secrets Manager
	// only, AWS errors passed on as JSON with their status.
	Agent
	// AppConfig is the AWS AppConfig Agent Lambda extension: deployed
	// configurations of AWS AppConfig, by application, environment and
	// configuration profile, with no token.
	AppConfig
)

// String returns "managed", "agent" or "appconfig".
func (d Dialect) String() string {
	switch d {
	case Managed:
		return "managed"
	case Agent:
		return "agent"
	case AppConfig:
		return "appconfig"
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
	case "appconfig":
		return AppConfig, nil
	}
	return 0, fmt.Errorf("mwtest: unknown dialect %q (want managed, agent or appconfig)", s)
}
