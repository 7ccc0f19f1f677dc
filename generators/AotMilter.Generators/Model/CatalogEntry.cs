namespace AotMilter.Generators.Model;

/// <summary>One filter as the assembly's catalog lists it.</summary>
internal sealed record CatalogEntry(string Name, string TypeName, string FactoryName, LocationInfo? Location);
