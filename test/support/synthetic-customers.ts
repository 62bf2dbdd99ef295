import type postgres from "postgres";

/**
 * Fills a migrated, empty database with `rows` customers and about 2 instances per customer
 * (customer n gets ~1400/sqrt(n), so a few have hundreds and ~15 % have none), generated
 * inside PostgreSQL. Secondary indexes are dropped first and rebuilt after: that is several
 * times faster than maintaining them row by row.
 *
 * Names look like "Vanguard Austin Dynamics 48213"; "logistics" is in ~1/30 of them (a
 * common term); "zenithal" is in the descriptions of 1 customer in 100,000 (a rare term).
 */
export async function loadCustomers(sql: postgres.Sql, rows: number): Promise<void> {
  await sql`set maintenance_work_mem = '1GB'`;
  await sql`set max_parallel_maintenance_workers = 2`;
  const indexes = await sql<{ name: string; definition: string }[]>`
    select indexname as name, indexdef as definition from pg_indexes
    where schemaname = 'public' and tablename in ('customers', 'service_instances')
      and indexname not in (select conname from pg_constraint)`;
  for (const { name } of indexes) await sql.unsafe(`drop index "${name}"`);

  await sql`
    insert into customers (id, name, name_key, reference_number, reference_key, description,
      description_key, search_text, service_instance_count, create_time, update_time, etag)
    select id, name, lower(name), ref, lower(ref), descr, lower(descr),
      lower(name) || E'\n' || lower(id) || E'\n' || coalesce(lower(ref), '') || E'\n' || lower(descr),
      instances, ts, ts, substr(md5(n::text), 1, 16)
    from (
      select n,
        '01J' || lpad(n::text, 23, '0') as id,
        (array['Vanguard','Northwind','Blue','Crescent','Summit','Pioneer','Atlas','Nimbus',
          'Silver','Granite','Harbor','Keystone','Liberty','Meridian','Orion','Pacific','Quantum',
          'Redwood','Sterling','Titan','Unity','Vertex','Willow','Apex','Beacon','Cobalt',
          'Delta','Evergreen','Falcon','Horizon'])[1 + (n * 7) % 30] || ' ' ||
        (array['Austin','Berlin','Chicago','Dublin','Essen','Florence','Geneva','Helsinki',
          'Istanbul','Jakarta','Kyoto','Lisbon','Madrid','Nairobi','Oslo','Prague','Quito',
          'Riga','Seoul','Tallinn','Utrecht','Vienna','Warsaw','Xiamen','York','Zagreb',
          'Athens','Bergen','Cairo','Denver','Eindhoven','Frankfurt','Gdansk','Hamburg','Izmir',
          'Jena','Krakow','Lyon','Munich','Nantes'])[1 + (n * 13) % 40] || ' ' ||
        (array['Dynamics','Logistics','Networks','Systems','Telecom','Holdings','Energy',
          'Media','Foods','Retail','Labs','Partners','Capital','Health','Robotics','Software',
          'Motors','Textiles','Pharma','Airlines','Shipping','Mining','Solar','Water','Security',
          'Insurance','Banking','Studios','Consulting','Farms'])[1 + (n * 17) % 30] || ' ' || n
          as name,
        case when n % 10 = 0 then null else 'CRM-' || lpad(n::text, 7, '0') end as ref,
        (array['Enterprise customer with','Regional operator running','Public sector body using',
          'Wholesale partner buying','Retail chain connecting','University campus with',
          'Hospital group relying on','Manufacturer linking','Bank branch network over',
          'Media house streaming via'])[1 + (n * 3) % 10] || ' ' ||
        (array['dual-homed L3VPN sites','a metro Ethernet ring','EVPN-ELAN between data centres',
          'dedicated internet access','an SD-WAN overlay','wavelength services',
          'dark fibre and DWDM','managed Wi-Fi at every branch'])[1 + (n * 11) % 8] || ', ' ||
        (array['billed monthly under a three-year frame contract',
          'with a 99.99 % availability SLA and 4-hour repair',
          'handled by the key account team in the north region',
          'migrating from legacy SDH circuits this year',
          'renewal due next quarter; upsell of security services planned'])[1 + (n * 19) % 5] ||
        case when n % 100000 = 7 then ' (zenithal account)' else '' end as descr,
        greatest(floor(1400 / sqrt(n))::int - (n % 5 = 0)::int, 0) as instances,
        now() - make_interval(secs => ${rows} - n) as ts
      from generate_series(1, ${rows}::int) as n
    ) as g`;

  // Instances: the foreign key is checked by triggers, which the replica role skips; the
  // ids above are known to exist.
  await sql`set session_replication_role = replica`;
  await sql`
    insert into service_instances (id, customer_id, name, name_key, service_type, create_time)
    select '02' || lpad(n::text, 10, '0') || lpad(k::text, 14, '0'),
      '01J' || lpad(n::text, 23, '0'), 'si-' || k, 'si-' || k,
      (array['L3VPN','EVPN-ELAN','DIA','SD-WAN'])[1 + k % 4],
      now() - make_interval(secs => ${rows} - n)
    from generate_series(1, ${rows}::int) as n,
      generate_series(1, greatest(floor(1400 / sqrt(n))::int - (n % 5 = 0)::int, 0)) as k`;
  await sql`set session_replication_role = origin`;

  for (const { definition } of indexes) await sql.unsafe(definition);
  await sql`vacuum analyze customers`;
  await sql`vacuum analyze service_instances`;
}
