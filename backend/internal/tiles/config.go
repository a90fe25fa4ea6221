package tiles

// Config returns the configuration the service runs with: the one New was given, its
// defaults filled in. The server's config route reports the limits clients need from it
// (the export's pixels, the tile size), so they are the ones the service applies.
func (s *Service) Config() Config { return s.cfg }

// DefaultConfig is the configuration New runs with when given an empty Config: every
// default filled in. The server's config route reports it when it has no service (tests).
func DefaultConfig() Config { return Config{}.withDefaults() }
