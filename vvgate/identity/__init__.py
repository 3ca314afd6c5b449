"""Who the live checks act as: sessions forged like the application's store keeps them, and
synthetic users with their tenants, removed by a janitor when a run is done or abandoned."""
