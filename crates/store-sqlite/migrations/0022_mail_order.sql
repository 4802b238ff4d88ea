-- Mail to one address goes out in the order it was queued (issue 15): a message waits while
-- an older one to the same address, of the same practice, is still waiting (being sent, or
-- to be tried again). This index finds that older one.
CREATE INDEX outbox_waiting_by_recipient ON outbox (practice_id, recipient, id)
    WHERE status = 'pending';
