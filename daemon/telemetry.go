package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/spool"
	"github.com/runlet/runlet/wire"
)

// Values of Config.TelemetryListen besides an address.
const (
	// ListenOff serves no readings endpoint.
	ListenOff = "off"
	// ListenAuto listens on gateway.DefaultListen, or on a free loopback
	// port when that is taken (a second daemon on the machine), with a
	// warning: the address file tells `runlet telemetry push` where.
	ListenAuto = "auto"
)

// telemetryShutdown bounds how long a stopping daemon waits for the
// requests its readings endpoint is answering.
const telemetryShutdown = 5 * time.Second

// startTelemetry makes the daemon its sensors' gateway: it opens the
// telemetry spool in the home (telemetry/), starts sending what it holds,
// serves the readings endpoint (writing its address to the home's
// gateway.AddrFile) and subscribes to the MQTT broker if Config names
// one. stop undoes it all, the spool closed last.
func (d *Daemon) startTelemetry(ctx context.Context) (stop func(), err error) {
	dir := d.cfg.Home.Path("telemetry")
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	sp, err := spool.Open(dir, spool.Options{MaxBytes: d.cfg.TelemetrySpoolBytes, Logger: d.log})
	if err != nil {
		return nil, fmt.Errorf("daemon: open the telemetry outbox in %s: %w", dir, err)
	}
	gw, err := gateway.New(gateway.Config{
		Spool:     sp,
		Bus:       d.bus,
		Workspace: d.ws,
		Device:    d.device,
		Now:       d.cfg.Now,
		BatchTime: d.cfg.TelemetryBatchTime,
		Logger:    d.log.With("part", "telemetry"),
	})
	if err != nil {
		_ = sp.Close()
		return nil, err
	}
	var ln net.Listener
	addrFile := d.cfg.Home.Path(gateway.AddrFile)
	if a := d.cfg.TelemetryListen; a != "" && a != ListenOff {
		if ln, err = listenReadings(a, d.log); err != nil {
			_ = sp.Close()
			return nil, runlet.Errorf(runlet.ECONFLICT, "The readings endpoint cannot listen on %s (%v): another daemon may have it; give another address with --telemetry-listen (127.0.0.1:0 picks a free port), or --telemetry-listen off.", a, err)
		}
		if err := gateway.WriteAddr(addrFile, ln.Addr().String()); err != nil {
			_ = ln.Close()
			_ = sp.Close()
			return nil, err
		}
		d.log.Info("listening for sensor readings", "addr", "http://"+ln.Addr().String()+"/v1/readings")
	}

	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := gw.Run(tctx); err != nil {
			d.log.Error("the telemetry sender stopped", "err", err)
		}
	})
	srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if ln != nil {
		wg.Go(func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("the readings endpoint stopped", "err", err)
			}
		})
	}
	if m := d.cfg.MQTT; m.URL != "" {
		if m.ClientID == "" {
			m.ClientID = mqttClientID(d.ws, d.device)
		}
		wg.Go(func() {
			if err := gw.ServeMQTT(tctx, m); err != nil {
				d.log.Error("not listening for sensor readings over MQTT", "err", err)
			}
		})
	}
	d.gateway = gw
	return func() {
		if ln != nil {
			_ = os.Remove(addrFile)
			sctx, scancel := context.WithTimeout(context.Background(), telemetryShutdown)
			_ = srv.Shutdown(sctx)
			scancel()
		}
		cancel()
		wg.Wait()
		if err := sp.Close(); err != nil {
			d.log.Error("close the telemetry outbox", "err", err)
		}
	}, nil
}

// mqttClientID names the daemon's persistent MQTT session: the same across
// restarts, and distinct for devices of different workspaces that share
// a name and a broker.
func mqttClientID(ws, device string) string {
	if len(ws) > 8 {
		ws = ws[:8]
	}
	return "runlet-" + ws + "-" + device
}

// telemetryStats is the gateway's part of a heartbeat: nil while it has
// taken, refused and kept nothing.
func (d *Daemon) telemetryStats() *wire.TelemetryStats {
	if d.gateway == nil {
		return nil
	}
	st := d.gateway.Stats()
	var refused uint64
	for _, n := range st.Refused {
		refused += n
	}
	if st.Accepted == 0 && refused == 0 && st.Pending == 0 && st.Dropped == 0 && !st.Full {
		return nil
	}
	return &wire.TelemetryStats{Accepted: st.Accepted, Refused: refused, Pending: st.Pending, Dropped: st.Dropped, Full: st.Full}
}

// listenReadings listens on a, or as ListenAuto says.
func listenReadings(a string, log *slog.Logger) (net.Listener, error) {
	if a != ListenAuto {
		return net.Listen("tcp", a)
	}
	ln, err := net.Listen("tcp", gateway.DefaultListen)
	if err == nil {
		return ln, nil
	}
	ln, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err2 != nil {
		return nil, errors.Join(err, err2)
	}
	log.Warn("the default address of the readings endpoint is taken (another daemon on this machine?); listening on a free port instead",
		"default", gateway.DefaultListen, "addr", ln.Addr().String(), "err", err)
	return ln, nil
}
