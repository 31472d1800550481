package sensormsg

// Reason is why a message was refused, one word, for counters.
type Reason string

// The reasons a message is refused. Reasons lists them all, for counters
// that must show zeros.
const (
	// ReasonJSON: the message is not JSON, or is cut short.
	ReasonJSON Reason = "json"
	// ReasonNotObject: the message, its "device" or its "reading" is
	// JSON but not an object.
	ReasonNotObject Reason = "not_object"
	// ReasonMissingID: device.id (or device itself) is absent or null.
	ReasonMissingID Reason = "missing_id"
	// ReasonBadID: device.id is not a positive whole number of 64 bits.
	ReasonBadID Reason = "bad_id"
	// ReasonMissingAuth: device.auth is absent or null.
	ReasonMissingAuth Reason = "missing_auth"
	// ReasonBadAuth: device.auth is neither a whole number nor a
	// non-empty string of at most runlet.MaxSensorSecret bytes.
	ReasonBadAuth Reason = "bad_auth"
	// ReasonMissingReading: reading is absent or null.
	ReasonMissingReading Reason = "missing_reading"
	// ReasonBadTime: reading.time is not a whole number of 64 bits.
	ReasonBadTime Reason = "bad_time"
	// ReasonNotNumeric: reading.temp or reading.batt is not a finite
	// number.
	ReasonNotNumeric Reason = "not_numeric"
	// ReasonNoValues: the reading has neither temp nor batt.
	ReasonNoValues Reason = "no_values"
	// ReasonTooLarge: the message is larger than MaxMessage.
	ReasonTooLarge Reason = "too_large"
)

// Reasons lists every Reason.
var Reasons = []Reason{
	ReasonJSON, ReasonNotObject, ReasonMissingID, ReasonBadID,
	ReasonMissingAuth, ReasonBadAuth, ReasonMissingReading, ReasonBadTime,
	ReasonNotNumeric, ReasonNoValues, ReasonTooLarge,
}
