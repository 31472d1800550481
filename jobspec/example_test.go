package jobspec_test

import (
	"fmt"
	"time"

	"github.com/runlet/runlet/jobspec"
)

func ExampleParse() {
	src := []byte(`settings:
  entrypoint: /bin/bash --login
  daemons:
    pi-3: {enabled: false}

disk-usage: df -h

rpi-neofetch:
  script: |-
    apt-get install neofetch;
    neofetch;
  where: custom
  whereCustom:
    - pi-1,pi-2
`)
	f, err := jobspec.Parse("jobs.yaml", src)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, j := range f.Jobs {
		fmt.Println(j.Name, j.Where, j.WhereCustom, j.Entrypoint)
	}
	fmt.Println("pi-3 enabled:", f.Settings.DeviceEnabled("pi-3"))
	// Output:
	// disk-usage local [] [/bin/bash --login]
	// rpi-neofetch custom [pi-1 pi-2] [/bin/bash --login]
	// pi-3 enabled: false
}

func ExampleParse_errors() {
	_, err := jobspec.Parse("jobs.yaml", []byte("backup:\n  script: tar czf /tmp/h.tgz ~\n  where: custom\n  every: now and then\n"))
	fmt.Println(err)
	// Output:
	// jobs.yaml:3: job "backup": field "where": where: custom needs whereCustom, the list of devices to run on (like whereCustom: [pi-1, pi-2])
	// jobs.yaml:4: job "backup": field "every": cannot read "now and then" as a schedule: use a cron line ("*/5 * * * *", "0 8 * * 1-5", "@daily", "@hourly"), an interval ("30s", "15m", "6h", "1d", "@every 90m") or a phrase ("every 5 minutes", "every hour", "every day at 08:00", "every monday at 9:30", "every weekday at 7am", "every sat,sun at 10:00")
}

func ExampleJob_Render() {
	f, _ := jobspec.Parse("jobs.yaml", []byte(`greet: echo "Hello, {{ index .Args 1 }}!"`))
	job := f.Job("greet")
	script, _ := job.Render([]string{"greet", "Ada"}) // runlet @run greet Ada
	fmt.Println(script)
	_, err := job.Render([]string{"greet"})
	fmt.Println(err)
	// Output:
	// echo "Hello, Ada!"
	// job "greet" needs argument 1 (it got 0): run it as runlet @run greet ARG1
}

func ExampleParseSchedule() {
	after := time.Date(2026, 3, 4, 10, 17, 30, 0, time.UTC) // a Wednesday
	for _, spec := range []string{"*/5 * * * *", "every monday at 9:30", "every weekday at 7am"} {
		s, _ := jobspec.ParseSchedule(spec)
		fmt.Println(spec, "->", s.In(time.UTC).Next(after).Format(time.DateTime))
	}
	// An interval's first run is one interval after the job is saved.
	s, _ := jobspec.ParseSchedule("15m")
	saved := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	fmt.Println("15m ->", s.AnchoredAt(saved).In(time.UTC).Next(after).Format(time.DateTime))
	// Output:
	// */5 * * * * -> 2026-03-04 10:20:00
	// every monday at 9:30 -> 2026-03-09 09:30:00
	// every weekday at 7am -> 2026-03-05 07:00:00
	// 15m -> 2026-03-04 10:30:00
}
