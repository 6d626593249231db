package chunkstore

// Internal names that the external tests need: where a chunk lives (to
// damage it on disk) and where locks live (to plant one).
var (
	ChunkKey      = chunkKey
	WriterLockKey = writerLockKey
	GCLockKey     = gcLockKey
)
