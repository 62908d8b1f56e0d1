-- An add-on license follows the entitlement of the base license it extends.
alter table licenses add column base_license_id uuid references licenses (license_id);
