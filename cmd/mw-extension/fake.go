package main

import (
	"log"

	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/cmd/internal/fakeext"
	"github.com/lambda-mw/mw/mwtest"
)

// The fake: its values, faults and readiness.

// newFake makes the fake extension cfg describes, its values loaded.
func newFake(cfg config, logger *log.Logger) (fakeext.Fake, error) {
	if cfg.dialect == cloudExt {
		return newRuntime(cfg, logger)
	}
	ext := mwtest.New(cfg.dialect.mwtest())
	ext.SetToken(cfg.token)
	switch {
	case cfg.dialect == appConfig:
		logger.Print("the appconfig dialect checks no token: the AppConfig extension takes none")
	case cfg.token == "":
		logger.Printf("no token set ($%s, -token): the token check is off", tokenEnv)
	}
	if err := loadInto(ext, cfg.values, logger); err != nil {
		return nil, err
	}
	ext.SetLatency(cfg.latency)
	ext.SetFaults(cfg.faults)
	ext.SetHang(cfg.hang)
	return fakeext.Extension(ext), nil
}

// newRuntime makes the Cloud Extensions runtime of the cloudext dialect.
func newRuntime(cfg config, logger *log.Logger) (*fakeext.Runtime, error) {
	a := cfg.cloudext
	var auth cloudexttest.Auth
	switch a.mode {
	case authRuntime:
		auth = cloudexttest.Auth{Mode: cloudexttest.AuthRuntimeCredentials, AccessKeyID: a.accessKeyID, SecretKey: a.secretKey, SessionToken: cfg.token}
	case authKey:
		auth = cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey, AccessKeyID: a.keyID, SecretKey: a.keySecret}
	default:
		auth = cloudexttest.Auth{Mode: cloudexttest.AuthNone}
	}
	rt := fakeext.NewRuntime(auth)
	logger.Printf("the profile's authentication: %v", auth) // its mode and access key ID, never a secret
	if err := loadInto(rt, cfg.values, logger); err != nil {
		return nil, err
	}
	rt.SetLatency(cfg.latency)
	return rt, nil
}

// loadInto loads the values file path, if any, into ext.
func loadInto(ext fakeext.Store, path string, logger *log.Logger) error {
	if path == "" {
		logger.Print("no values file (-values): every item is not found")
		return nil
	}
	lines, err := fakeext.LoadValuesFile(path, ext)
	if err != nil {
		return err
	}
	for _, line := range lines {
		logger.Print("loaded ", line)
	}
	return nil
}

// ready makes the fake serve, once, why says on what occasion: after
// -not-ready-for, and then with -not-ready first requests answered as
// during INIT.
func (em *emulator) ready(why string) {
	em.readyOnce.Do(func() {
		fakeext.Startup{NotReady: em.cfg.notReady, NotReadyFor: em.cfg.notReadyFor}.Ready(em.ext, em.logger, why)
	})
}
