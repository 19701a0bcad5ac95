package main

import (
	"context"
	"fmt"
)

// Lambda mode: an external extension under the Extensions API.

// lambda registers with the Extensions API and serves until SHUTDOWN.
//
// The fake listens before registering (lnErr is the outcome): Lambda starts
// the runtime's init once every extension has registered, and init-time
// calls must meet the 400, not a refused connection.
//
// Under Lambda Managed Instances (lmi: $AWS_LAMBDA_MAX_CONCURRENCY set)
// extensions may subscribe to SHUTDOWN only: they never see an invoke.
// There the emulator is ready once registered, that is from the end of its
// own init (how the managed layer behaves there is not documented). So is
// it in the appconfig dialect, and with -ready-at register.
func (em *emulator) lambda(ctx context.Context, client *extClient, lmi bool, lnErr error) int {
	events := []string{eventInvoke, eventShutdown}
	if lmi {
		events = []string{eventShutdown}
	}
	if err := client.register(ctx, em.name, events); err != nil {
		em.logger.Printf("%v", err)
		em.shutdown("register failed")
		return 1
	}
	em.logger.Printf("registered as %q for %v", em.name, events)
	if lnErr != nil {
		em.logger.Printf("listen: %v", lnErr)
		if err := client.reportError(context.Background(), "init/error", "Extension.ListenFailed", lnErr); err != nil {
			em.logger.Printf("init/error: %v", err)
		}
		return 1
	}
	switch {
	case lmi:
		em.ready("registered under Lambda Managed Instances, which sends extensions no INVOKE")
	case em.cfg.readyAt == "register":
		// The Cloud Extensions runtime's behaviour during the function's
		// INIT is not documented: -ready-at chooses.
		em.ready("registered: -ready-at register")
	case em.cfg.readyAt == "" && em.cfg.dialect == appConfig:
		// The AppConfig extension fetches its prefetch list "before Lambda
		// starts to initialize your function" ("Configuring the AWS
		// AppConfig Agent Lambda extension"), and serves from then on:
		// UNVERIFIED for requests made during the function's INIT.
		em.ready("registered: the AppConfig extension serves from its own init")
	}
	return em.events(ctx, client)
}

// events handles events until SHUTDOWN: the first INVOKE makes the fake
// ready.
func (em *emulator) events(ctx context.Context, client *extClient) int {
	invokes := 0
	for {
		ev, err := client.next(ctx)
		if err != nil {
			return em.nextFailed(ctx, client, err)
		}
		switch ev.EventType {
		case eventInvoke:
			invokes++
			em.ready("first INVOKE " + ev.RequestID)
		case eventShutdown:
			em.shutdown(fmt.Sprintf("SHUTDOWN event, reason %s, after %d invokes", ev.ShutdownReason, invokes))
			return 0
		default:
			em.logger.Printf("ignoring event %q", ev.EventType)
		}
	}
}

// nextFailed ends the emulator when event/next fails: cleanly on a signal,
// else reporting the error to Lambda.
func (em *emulator) nextFailed(ctx context.Context, client *extClient, err error) int {
	if ctx.Err() != nil {
		em.shutdown("signal")
		return 0
	}
	em.logger.Printf("%v", err)
	_ = client.reportError(context.Background(), "exit/error", "Extension.NextFailed", err)
	em.shutdown("event/next failed")
	return 1
}
