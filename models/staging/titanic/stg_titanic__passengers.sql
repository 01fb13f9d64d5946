with

source as (

    select * from {{ ref('titanic') }}

),

renamed as (

    -- Seed headers are CamelCase, and DuckDB keeps a column's case when it is selected as is:
    -- every column is aliased so its name is lower case on both warehouses.
    select
        passengerid as passenger_id,
        survived as survived,
        pclass as passenger_class,
        name as passenger_name,
        sex as sex,
        age as age,
        sibsp as siblings_spouses,
        parch as parents_children,
        ticket as ticket,
        fare as fare,
        cabin as cabin,
        embarked as embarked_port

    from source

)

select * from renamed
