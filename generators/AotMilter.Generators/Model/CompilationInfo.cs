namespace AotMilter.Generators.Model;

/// <summary>
/// What the generator needs from the compilation as a whole. Recomputed on every edit, but equal as long as the
/// assembly name and references are, so nothing downstream re-runs.
/// </summary>
/// <param name="Namespace">AotMilter.Generated.&lt;sanitized assembly name&gt;: where the catalog goes.</param>
/// <param name="IsExecutable">True for console and Windows applications: they get the LinkedFilters class.</param>
/// <param name="HasAbstractions">True when AotMilter.Abstractions is referenced (nothing can be emitted without it).</param>
/// <param name="References">Referenced filter catalogs, sorted by type name (executables only).</param>
internal sealed record CompilationInfo(string Namespace, bool IsExecutable, bool HasAbstractions, EquatableArray<ReferencedCatalog> References);
