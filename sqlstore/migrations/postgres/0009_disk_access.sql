-- A disk's SAS URLs carry its access generation under their signature;
-- the data plane finds the disk by its uniqueId (the only id a blob URL
-- holds) and refuses a SAS of an older generation, so ending access and
-- sealing revoke every SAS handed out before.
ALTER TABLE disks ADD COLUMN unique_id TEXT NOT NULL DEFAULT '';
ALTER TABLE disks ADD COLUMN access_generation BIGINT NOT NULL DEFAULT 0;
UPDATE disks SET unique_id = COALESCE(properties::jsonb ->> 'uniqueId', '');
CREATE INDEX disks_by_unique_id ON disks (unique_id);
