-- The overlap rule's index, organised by time (issue 12, measured). GiST splits its pages by
-- the first column of a many-column index, and the first column was `practice_id`, the same
-- in every row of a practice: the pages held times in no order, and the check before each
-- insert visited most of them (33 pages for 1,800 rows; about 1,245 rows read per booking in
-- the booking benchmark). With the time range first, pages hold neighbouring times, and the
-- same check visits 6. The range is `int8range` over the stored seconds, which is the same
-- half-open range as `tstzrange(to_timestamp(starts_at), to_timestamp(ends_at), '[)')`
-- without turning two numbers into timestamps for every row compared; back-to-back
-- appointments (10:00-10:50, then 10:50) still sit side by side.
ALTER TABLE occupancy DROP CONSTRAINT one_place_at_a_time;
ALTER TABLE occupancy ADD CONSTRAINT one_place_at_a_time EXCLUDE USING gist (
    int8range(starts_at, ends_at) WITH &&,
    practice_id WITH =
) DEFERRABLE INITIALLY IMMEDIATE;
