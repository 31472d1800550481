package pty

import (
	"fmt"
	"math"
	"os"
	"unsafe"

	"github.com/runlet/runlet"
	"golang.org/x/sys/windows"
)

// procUpdateProcThreadAttribute is called directly rather than through
// windows.ProcThreadAttributeListContainer.Update: the pseudo console
// attribute takes the HPCON handle itself as its value, and Update wants an
// unsafe.Pointer, which a handle must not be turned into.
var procUpdateProcThreadAttribute = windows.NewLazySystemDLL("kernel32.dll").NewProc("UpdateProcThreadAttribute")

// pseudoConsole is a ConPTY and our ends of the two pipes it talks over.
type pseudoConsole struct {
	handle windows.Handle // HPCON
	in     *os.File       // we write keystrokes (VT input) here
	out    *os.File       // we read the rendered screen (VT output) here
}

// newPseudoConsole creates a pseudo console of the given size connected to
// two new anonymous pipes. The pipes are not inheritable: only the pseudo
// console's host (conhost) holds the far ends.
func newPseudoConsole(size runlet.Size) (*pseudoConsole, error) {
	var inRead, inWrite, outRead, outWrite windows.Handle
	if err := windows.CreatePipe(&inRead, &inWrite, nil, 0); err != nil {
		return nil, fmt.Errorf("create the terminal's input pipe: %w", err)
	}
	if err := windows.CreatePipe(&outRead, &outWrite, nil, 0); err != nil {
		closeHandles(inRead, inWrite)
		return nil, fmt.Errorf("create the terminal's output pipe: %w", err)
	}
	var hpc windows.Handle
	err := windows.CreatePseudoConsole(coord(size), inRead, outWrite, 0, &hpc)
	// The console host has duplicated its ends of the pipes; ours must go now,
	// or the output pipe would never report EOF once the host is gone.
	closeHandles(inRead, outWrite)
	if err != nil {
		closeHandles(inWrite, outRead)
		return nil, fmt.Errorf("create pseudo console (needs Windows 10 1809 or later): %w", err)
	}
	return &pseudoConsole{
		handle: hpc,
		// os.File gives EOF on a broken pipe, and a Close that cancels a
		// Read or Write blocked in another goroutine (CancelIoEx).
		in:  os.NewFile(uintptr(inWrite), "conpty-input"),
		out: os.NewFile(uintptr(outRead), "conpty-output"),
	}, nil
}

// close releases the console and the pipes. The pipes go first: before
// Windows 11 24H2, ClosePseudoConsole waits until its last output has been
// read or can no longer be written.
func (c *pseudoConsole) close() {
	c.in.Close()
	c.out.Close()
	windows.ClosePseudoConsole(c.handle)
}

// coord converts a Size to the console's signed 16-bit coordinates.
func coord(s runlet.Size) windows.Coord {
	return windows.Coord{X: cells(s.Cols), Y: cells(s.Rows)}
}

func cells(n uint16) int16 {
	if n > math.MaxInt16 {
		return math.MaxInt16
	}
	return int16(n)
}

// process is what CreateProcess needs, already converted to UTF-16.
type process struct {
	app     *uint16 // full path of the program
	cmdline *uint16 // whole command line, argv[0] included
	env     *uint16 // environment block, or nil to inherit ours
	dir     *uint16 // working directory, or nil for ours
}

// createProcess starts p attached to the pseudo console hpc, suspended, so
// that the caller can put it in a job before it runs any code or starts a
// child. The caller owns the returned process and thread handles.
func createProcess(hpc windows.Handle, p process) (*windows.ProcessInformation, error) {
	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		return nil, fmt.Errorf("allocate process attributes: %w", err)
	}
	defer attrs.Delete()
	ok, _, err := procUpdateProcThreadAttribute.Call(
		uintptr(unsafe.Pointer(attrs.List())), 0,
		windows.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, uintptr(hpc), unsafe.Sizeof(hpc),
		0, 0)
	if ok == 0 {
		return nil, fmt.Errorf("attach the process to the pseudo console: %w", err)
	}

	si := windows.StartupInfoEx{ProcThreadAttributeList: attrs.List()}
	si.Cb = uint32(unsafe.Sizeof(si))
	// Standard handles are set, and set to nothing: without this a child of
	// a process whose own standard handles are pipes or files (a service,
	// `go test`) gets copies of those and writes there instead of into the
	// pseudo console (microsoft/terminal#11276; node-pty does the same).
	si.Flags = windows.STARTF_USESTDHANDLES

	// Handles are not inherited: the child's console comes from the
	// attribute list, and nothing else of ours should leak into it.
	const flags = windows.EXTENDED_STARTUPINFO_PRESENT | windows.CREATE_UNICODE_ENVIRONMENT | windows.CREATE_SUSPENDED
	var pi windows.ProcessInformation
	if err := windows.CreateProcess(p.app, p.cmdline, nil, nil, false, flags, p.env, p.dir, &si.StartupInfo, &pi); err != nil {
		return nil, err
	}
	return &pi, nil
}

// newJob creates a job object whose processes all die when its last handle
// is closed, so neither Kill nor a crash of ours leaves a process tree behind.
func newJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("create job object: %w", err)
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		closeHandles(job)
		return 0, fmt.Errorf("set job object limits: %w", err)
	}
	return job, nil
}

// closeHandles closes handles whose close can only fail on a bug of ours.
func closeHandles(hs ...windows.Handle) {
	for _, h := range hs {
		_ = windows.CloseHandle(h)
	}
}
