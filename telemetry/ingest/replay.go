package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// replayPage is how many archived readings Replay reads at a time: as
// many as the store gives.
const replayPage = store.MaxLimit

// Replay feeds the archived readings of a sensor of workspace ws with a
// Time in [from, to) through the series stage again, in insertion order,
// and publishes them again on bus.ReadingsKey of the device that relayed
// each. It is idempotent: the archive already holds every (device, seq),
// so nothing new is archived, and only the series points missing are
// added. It returns how many readings it replayed. ENOTFOUND: no such
// sensor in the workspace. EINVALID: to before from.
func (s *Service) Replay(ctx context.Context, ws string, sensor int64, from, to time.Time) (int, error) {
	if to.Before(from) {
		return 0, runlet.Errorf(runlet.EINVALID, "The end of the replay is before its start.")
	}
	if _, err := s.db.Sensor(ctx, ws, sensor); err != nil {
		return 0, err
	}
	n := 0
	var after int64
	for {
		page, err := s.db.RawReadings(ctx, ws, sensor, from, to, after, replayPage)
		if err != nil {
			return n, fmt.Errorf("read the archive of sensor %d: %w", sensor, err)
		}
		if len(page) == 0 {
			return n, nil
		}
		after = page[len(page)-1].ID
		if _, err := s.db.AddReadings(ctx, ws, page); err != nil {
			return n, fmt.Errorf("replay the archive of sensor %d: %w", sensor, err)
		}
		n += len(page)
		for start := 0; start < len(page); {
			end := start + 1
			for end < len(page) && page[end].Device == page[start].Device {
				end++
			}
			s.publish(ctx, ws, page[start].Device, page[start:end])
			start = end
		}
		if len(page) < replayPage {
			return n, nil
		}
	}
}
