-- The demo shop's database. Loaded by demo/stack.sh into a throwaway cluster.
CREATE TABLE users (
	name text PRIMARY KEY,
	password text NOT NULL
);
CREATE TABLE products (
	id integer PRIMARY KEY,
	name text NOT NULL,
	price_cents integer NOT NULL
);
-- The search index answers by itself, as a search engine does: it can
-- point at products that no longer exist.
CREATE TABLE search_index (
	product_id integer NOT NULL,
	term text NOT NULL,
	name text NOT NULL
);
CREATE TABLE cart_items (
	user_name text NOT NULL REFERENCES users (name),
	product_id integer NOT NULL,
	qty integer NOT NULL
);
CREATE TABLE orders (
	id serial PRIMARY KEY,
	user_name text NOT NULL,
	product_id integer NOT NULL,
	qty integer NOT NULL DEFAULT 1,
	status text NOT NULL,
	payment_format text NOT NULL DEFAULT 'v1',
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE payments (
	id serial PRIMARY KEY,
	order_id integer NOT NULL,
	amount_cents integer NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
-- No unique constraint: duplicate holds are the damage the bad release does.
CREATE TABLE discount_holds (
	id serial PRIMARY KEY,
	order_id integer NOT NULL,
	code text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO users VALUES ('alice', 'wonderland'), ('bob', 'builder');
INSERT INTO products
SELECT i, format('Product %s %s', i, CASE WHEN i % 2 = 0 THEN 'teapot' ELSE 'kettle' END), 500 + i * 50
FROM generate_series(10, 40) AS i;
INSERT INTO search_index
SELECT id, CASE WHEN id % 2 = 0 THEN 'teapot' ELSE 'kettle' END, name FROM products;
INSERT INTO cart_items VALUES ('alice', 10, 1), ('alice', 12, 2), ('bob', 11, 1);
