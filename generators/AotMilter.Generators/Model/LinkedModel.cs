namespace AotMilter.Generators.Model;

/// <summary>The executable's LinkedFilters class: whether to emit it (executables that reference AotMilter.Abstractions) and the catalogs it concatenates.</summary>
internal sealed record LinkedModel(bool Emit, EquatableArray<string> CatalogTypeNames, EquatableArray<DiagnosticInfo> Diagnostics);
