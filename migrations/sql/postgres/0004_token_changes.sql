-- Every change of the issued tokens is announced on the channel idlewatch_tokens, which every
-- server of the cluster listens on: a token issued or revoked on one server (or by hand in
-- SQL) holds on all at once, not at their next periodic reload.
CREATE FUNCTION idlewatch_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('idlewatch_tokens', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER tokens_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION idlewatch_tokens_changed();
