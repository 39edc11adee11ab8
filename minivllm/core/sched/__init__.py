"""The continuous-batching scheduler and the records it hands to the model runner."""
