"""The shape every prediction template shares: the input (with TRANSFORM outputs appended), then
layers of internal columns, then the public output columns, then every input column unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field

from ml.compile.placeholders import INPUT
from ml.names import quote_ident
from ml.preprocessing.expansion import FeatureExpansion


@dataclass
class FeatureLayer:
    """The input relation and how each model feature is referenced in it."""

    sql: str
    refs: dict[str, str]
    internal: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, feature_names: list[str], transform: list[tuple[str, str]] | None) -> FeatureLayer:
        """Raw input columns are the features; with a TRANSFORM, its outputs are appended as
        internal columns so they cannot clash with input columns of the same name."""
        if not transform:
            return cls(f"SELECT * FROM {INPUT} AS __ml_src", {n: quote_ident(n) for n in feature_names})
        internal = [f"__ml_f{i}" for i in range(len(transform))]
        columns = ", ".join(
            f"{expr} AS {quote_ident(alias)}" for (_, expr), alias in zip(transform, internal, strict=True)
        )
        refs = {name: quote_ident(alias) for (name, _), alias in zip(transform, internal, strict=True)}
        return cls(f"SELECT __ml_src.*, {columns} FROM {INPUT} AS __ml_src", refs, internal)

    def expanded(self, expansion: FeatureExpansion) -> FeatureLayer:
        """This layer with the expansion's computed columns (TIMESTAMP parts, STRUCT fields,
        multi-hot indicators) appended as internal columns, so they cannot clash with input
        columns of the same name (`<ts>` included)."""
        computed = expansion.select_list(self.refs)
        if not computed:
            return self
        aliases = [f"__ml_fx{i}" for i in range(len(computed))]
        columns = ", ".join(
            f"{sql} AS {quote_ident(a)}" for (_, sql), a in zip(computed, aliases, strict=True)
        )
        refs = {c.name: self.refs[c.column] for c in expansion.columns if c.is_identity}
        refs.update({name: quote_ident(a) for (name, _), a in zip(computed, aliases, strict=True)})
        return FeatureLayer(
            f"SELECT *, {columns} FROM ({self.sql}) AS __ml_fxl", refs, [*self.internal, *aliases]
        )


@dataclass
class Scoring:
    """Nested SELECTs: each layer adds internal columns computed from the previous ones."""

    features: FeatureLayer
    layers: list[list[tuple[str, str]]]
    outputs: list[tuple[str, str]]

    def internal(self) -> list[str]:
        return self.features.internal + [name for layer in self.layers for name, _ in layer]

    def _layered(self) -> str:
        sql = self.features.sql
        for i, layer in enumerate(self.layers):
            columns = ", ".join(f"{expr} AS {quote_ident(name)}" for name, expr in layer)
            sql = f"SELECT *, {columns} FROM ({sql}) AS __ml_l{i}"
        return sql

    def _select(self, star: str) -> str:
        outputs = ", ".join(f"{expr} AS {quote_ident(name)}" for name, expr in self.outputs)
        return f"SELECT {outputs}, {star} FROM ({self._layered()}) AS __ml_scored"

    def scored_sql(self) -> str:
        """Outputs, then input and internal columns: what the evaluation templates read."""
        return self._select("*")

    def predict_sql(self) -> str:
        """ML.PREDICT: the outputs, then every input column as it came in."""
        hidden = self.internal()
        return self._select(f"* EXCLUDE ({', '.join(quote_ident(n) for n in hidden)})" if hidden else "*")


# A model whose scoring also runs in one of the engine's Arrow UDFs stores, beside each template,
# a `<function>_udf` variant giving the same columns faster; callers with the UDFs prefer it.
UDF_VARIANT = "{}_udf"


def udf_variants(fast: Scoring, evaluation: dict[str, str]) -> dict[str, str]:
    """The `<function>_udf` templates of a scoring whose model runs in one of the engine's UDFs."""
    templates = {"predict": fast.predict_sql(), **evaluation}
    return {UDF_VARIANT.format(name): sql for name, sql in templates.items()}
