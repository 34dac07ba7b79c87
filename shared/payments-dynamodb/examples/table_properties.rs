//! Prints the payments table as the `Properties` of a CloudFormation `AWS::DynamoDB::Table`, from the same
//! definition the tests create tables from: `cargo run -p payments-dynamodb --example table_properties`.

fn main() {
    let properties = payments_dynamodb::table::definition().cloudformation_properties();
    match serde_json::to_string_pretty(&properties) {
        Ok(text) => println!("{text}"),
        Err(error) => {
            eprintln!("cannot render the table definition: {error}");
            std::process::exit(1);
        }
    }
}
