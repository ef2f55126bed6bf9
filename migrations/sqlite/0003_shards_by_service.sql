-- The reconciler reads one service's shards per flap; without this index that
-- read scans every shard, and a flap's cost grows with the zone.
CREATE INDEX shards_by_service ON shards (namespace, service);
