package gdal

// Chunks exposes the warp's chunks (dx, dy, dsx, dsy) to the external tests.
func (s *StripWarper) Chunks() [][4]int { return s.chunks }
