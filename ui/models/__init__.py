"""Item models over the storage layer's queries; they fetch rows on demand."""
