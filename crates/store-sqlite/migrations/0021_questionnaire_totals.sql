-- Each answered questionnaire keeps its total beside its answers, worked out when they were
-- given by the instrument's own scoring (`domain::measures`), so a client's page with years
-- of weekly scores reads numbers rather than re-scoring every answer.
ALTER TABLE questionnaires ADD COLUMN total INTEGER CHECK (total IS NULL OR total >= 0);

-- Questionnaires answered before now: every option of the instruments Anteroom scores
-- (PHQ-9, GAD-7 and CORE-10) is worth a single digit, 0 to 4, so the sum of the answers is
-- each digit times how often it appears; CORE-10 scores its items 2 and 3 in reverse
-- (4 less the answer), which adds 8 less twice those two answers.
UPDATE questionnaires SET total =
      (length(answers) - length(replace(answers, '1', '')))
    + 2 * (length(answers) - length(replace(answers, '2', '')))
    + 3 * (length(answers) - length(replace(answers, '3', '')))
    + 4 * (length(answers) - length(replace(answers, '4', '')))
    + CASE WHEN instrument = 'core-10'
           THEN 8 - 2 * (CAST(substr(answers, 3, 1) AS INTEGER)
                         + CAST(substr(answers, 5, 1) AS INTEGER))
           ELSE 0 END
WHERE answers IS NOT NULL;

-- A client's page reads their scores from this index alone, and what is waiting for
-- answers from the next.
CREATE INDEX questionnaires_scores ON questionnaires
    (client_id, practice_id, completed_at, instrument, contract_id, session_number, occasion,
     total, risk, acknowledged_at)
    WHERE completed_at IS NOT NULL;
CREATE INDEX questionnaires_waiting ON questionnaires (client_id)
    WHERE completed_at IS NULL AND withdrawn_at IS NULL;
