DROP FUNCTION pos_refuse_mutation();
DROP FUNCTION pos_set_updated_at();
