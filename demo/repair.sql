-- The repair script for the bad release's data damage. Idempotent.
BEGIN;
-- Orders the bad payment path marked paid without taking a payment go back
-- to pending, to be paid again by the fixed worker.
UPDATE orders o SET status = 'pending', payment_format = 'v1'
WHERE o.status = 'paid' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id);
-- Duplicate discount holds: keep the first per order and code.
DELETE FROM discount_holds d
USING discount_holds keep
WHERE d.order_id = keep.order_id AND d.code = keep.code AND d.id > keep.id;
COMMIT;
SELECT id FROM orders WHERE status = 'pending' ORDER BY id;
